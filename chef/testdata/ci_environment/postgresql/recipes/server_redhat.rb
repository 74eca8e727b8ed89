#
# Cookbook Name:: postgresql
# Recipe:: server_redhat
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "yum::epel" if platform_family?("rhel")
