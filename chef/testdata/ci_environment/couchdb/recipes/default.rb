#
# Cookbook Name:: couchdb
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "couchdb" do
  action :install
end

template "/etc/couchdb.conf" do
  source "couchdb.conf.erb"
  mode "0644"
end
