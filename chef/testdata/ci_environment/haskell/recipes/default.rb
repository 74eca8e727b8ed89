#
# Cookbook Name:: haskell
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "haskell" do
  action :install
end

template "/etc/haskell.conf" do
  source "haskell.conf.erb"
  mode "0644"
end
