#
# Cookbook Name:: timezone
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "apt" unless platform?("mac_os_x")
package "timezone" do
  action :install
end

template "/etc/timezone.conf" do
  source "timezone.conf.erb"
  mode "0644"
end
