#
# Cookbook Name:: java
# Recipe:: multi
#
# Copyright 2012, Travis CI Development Team
#

node['java']['multi']['versions'].each do |v|
  include_recipe "java::#{v}"
end
