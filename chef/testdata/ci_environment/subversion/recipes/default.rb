#
# Cookbook Name:: subversion
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "subversion" do
  action :install
end

template "/etc/subversion.conf" do
  source "subversion.conf.erb"
  mode "0644"
end
