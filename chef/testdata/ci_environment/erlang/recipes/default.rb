#
# Cookbook Name:: erlang
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "erlang" do
  action :install
end

template "/etc/erlang.conf" do
  source "erlang.conf.erb"
  mode "0644"
end

cookbook_file "/etc/profile.d/erlang.sh" do
  mode "0755"
end
