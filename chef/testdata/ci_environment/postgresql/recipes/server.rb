#
# Cookbook Name:: postgresql
# Recipe:: server
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "postgresql::client"
include_recipe "postgresql::server_#{node['platform_family']}"
