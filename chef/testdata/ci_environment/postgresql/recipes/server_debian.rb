#
# Cookbook Name:: postgresql
# Recipe:: server_debian
#
# Copyright 2012, Travis CI Development Team
#

package "postgresql-server-debian"
