#
# Cookbook Name:: networking_basic
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "networking_basic" do
  action :install
end

cookbook_file "/etc/profile.d/networking_basic.sh" do
  mode "0755"
end
