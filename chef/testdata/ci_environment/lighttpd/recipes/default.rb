#
# Cookbook Name:: lighttpd
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "lighttpd" do
  action :install
end

template "/etc/lighttpd.conf" do
  source "lighttpd.conf.erb"
  mode "0644"
end

cookbook_file "/etc/profile.d/lighttpd.sh" do
  mode "0755"
end
