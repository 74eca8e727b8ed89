#
# Cookbook Name:: mysql
# Recipe:: client
#
# Copyright 2012, Travis CI Development Team
#

package "mysql-client"
