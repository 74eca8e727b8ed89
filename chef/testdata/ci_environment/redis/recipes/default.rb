#
# Cookbook Name:: redis
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "redis" do
  action :install
end
