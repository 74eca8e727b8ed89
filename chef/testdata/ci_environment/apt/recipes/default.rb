#
# Cookbook Name:: apt
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "apt" do
  action :install
end
