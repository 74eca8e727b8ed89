#
# Cookbook Name:: zeromq
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "zeromq" do
  action :install
end

template "/etc/zeromq.conf" do
  source "zeromq.conf.erb"
  mode "0644"
end
