#
# Cookbook Name:: java
# Recipe:: oraclejdk7
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "java::openjdk7" if node['java']['oracle']['fallback']
