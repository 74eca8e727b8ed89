#
# Cookbook Name:: phpenv
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "phpenv" do
  action :install
end

template "/etc/phpenv.conf" do
  source "phpenv.conf.erb"
  mode "0644"
end
