#
# Cookbook Name:: libqt4
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "xserver" # headless Qt needs Xvfb
package "libqt4" do
  action :install
end

template "/etc/libqt4.conf" do
  source "libqt4.conf.erb"
  mode "0644"
end
