#
# Cookbook Name:: rvm
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "rvm" do
  action :install
end
