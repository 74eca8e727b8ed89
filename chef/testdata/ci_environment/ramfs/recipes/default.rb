#
# Cookbook Name:: ramfs
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "ramfs" do
  action :install
end

template "/etc/ramfs.conf" do
  source "ramfs.conf.erb"
  mode "0644"
end
