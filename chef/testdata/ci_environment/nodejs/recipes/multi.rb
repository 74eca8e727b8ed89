#
# Cookbook Name:: nodejs
# Recipe:: multi
#
# Copyright 2012, Travis CI Development Team
#

node[:nodejs][:versions].each do |v|
  nodejs_install v
end
