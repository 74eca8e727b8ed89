#
# Cookbook Name:: mysql
# Recipe:: server
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "mysql::client"
include_recipe "openssl"
