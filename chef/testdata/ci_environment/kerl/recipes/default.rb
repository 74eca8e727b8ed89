#
# Cookbook Name:: kerl
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "kerl" do
  action :install
end

template "/etc/kerl.conf" do
  source "kerl.conf.erb"
  mode "0644"
end

cookbook_file "/etc/profile.d/kerl.sh" do
  mode "0755"
end
