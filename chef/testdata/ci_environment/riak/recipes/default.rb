#
# Cookbook Name:: riak
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "riak" do
  action :install
end

template "/etc/riak.conf" do
  source "riak.conf.erb"
  mode "0644"
end

cookbook_file "/etc/profile.d/riak.sh" do
  mode "0755"
end
