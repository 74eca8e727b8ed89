#
# Cookbook Name:: python
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "python::#{node['python']['install_method']}"
package "python" do
  action :install
end

template "/etc/python.conf" do
  source "python.conf.erb"
  mode "0644"
end
