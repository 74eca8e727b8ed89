#
# Cookbook Name:: mysql
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "mysql" do
  action :install
end

template "/etc/mysql.conf" do
  source "mysql.conf.erb"
  mode "0644"
end
