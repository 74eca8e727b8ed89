#
# Cookbook Name:: libgdbm
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "libgdbm" do
  action :install
end

template "/etc/libgdbm.conf" do
  source "libgdbm.conf.erb"
  mode "0644"
end
