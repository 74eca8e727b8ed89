#
# Cookbook Name:: util-linux
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "util-linux" do
  action :install
end

template "/etc/util-linux.conf" do
  source "util-linux.conf.erb"
  mode "0644"
end

cookbook_file "/etc/profile.d/util-linux.sh" do
  mode "0755"
end
