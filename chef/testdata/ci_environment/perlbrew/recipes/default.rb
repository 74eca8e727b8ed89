#
# Cookbook Name:: perlbrew
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "perlbrew" do
  action :install
end
