#
# Cookbook Name:: memcached
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "memcached" do
  action :install
end
