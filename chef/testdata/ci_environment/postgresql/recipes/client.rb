#
# Cookbook Name:: postgresql
# Recipe:: client
#
# Copyright 2012, Travis CI Development Team
#

package "postgresql-client"
