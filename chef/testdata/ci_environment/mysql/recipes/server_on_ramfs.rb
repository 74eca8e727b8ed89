#
# Cookbook Name:: mysql
# Recipe:: server_on_ramfs
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "ramfs"
include_recipe "mysql::server"
