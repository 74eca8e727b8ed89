#
# Cookbook Name:: git
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "git" do
  action :install
end

template "/etc/git.conf" do
  source "git.conf.erb"
  mode "0644"
end
