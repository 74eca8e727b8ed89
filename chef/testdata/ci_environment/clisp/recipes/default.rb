#
# Cookbook Name:: clisp
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "clisp" do
  action :install
end

template "/etc/clisp.conf" do
  source "clisp.conf.erb"
  mode "0644"
end
