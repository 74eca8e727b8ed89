#
# Cookbook Name:: postgresql
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "postgresql" do
  action :install
end

cookbook_file "/etc/profile.d/postgresql.sh" do
  mode "0755"
end
