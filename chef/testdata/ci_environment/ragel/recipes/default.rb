#
# Cookbook Name:: ragel
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "ragel" do
  action :install
end

cookbook_file "/etc/profile.d/ragel.sh" do
  mode "0755"
end
