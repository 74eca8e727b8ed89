#
# Cookbook Name:: nodejs
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "nodejs" do
  action :install
end

template "/etc/nodejs.conf" do
  source "nodejs.conf.erb"
  mode "0644"
end
