#
# Cookbook Name:: mongodb
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "mongodb" do
  action :install
end
