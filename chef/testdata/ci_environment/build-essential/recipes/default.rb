#
# Cookbook Name:: build-essential
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "apt" if platform_family?("debian")
include_recipe "xcode" if platform?("mac_os_x")
package "build-essential" do
  action :install
end

template "/etc/build-essential.conf" do
  source "build-essential.conf.erb"
  mode "0644"
end
