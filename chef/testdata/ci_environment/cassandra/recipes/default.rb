#
# Cookbook Name:: cassandra
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "cassandra" do
  action :install
end

cookbook_file "/etc/profile.d/cassandra.sh" do
  mode "0755"
end
