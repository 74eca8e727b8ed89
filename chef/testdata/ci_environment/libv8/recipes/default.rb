#
# Cookbook Name:: libv8
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "libv8" do
  action :install
end

template "/etc/libv8.conf" do
  source "libv8.conf.erb"
  mode "0644"
end
