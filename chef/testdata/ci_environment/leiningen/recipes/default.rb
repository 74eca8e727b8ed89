#
# Cookbook Name:: leiningen
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "leiningen" do
  action :install
end
