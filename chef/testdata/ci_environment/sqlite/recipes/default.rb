#
# Cookbook Name:: sqlite
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "sqlite" do
  action :install
end
