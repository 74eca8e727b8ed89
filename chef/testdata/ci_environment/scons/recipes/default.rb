#
# Cookbook Name:: scons
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "scons" do
  action :install
end

template "/etc/scons.conf" do
  source "scons.conf.erb"
  mode "0644"
end
