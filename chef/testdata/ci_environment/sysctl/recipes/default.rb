#
# Cookbook Name:: sysctl
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "sysctl" do
  action :install
end

cookbook_file "/etc/profile.d/sysctl.sh" do
  mode "0755"
end
