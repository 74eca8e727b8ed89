#
# Cookbook Name:: java
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "java::#{node['java']['install_flavor']}"
