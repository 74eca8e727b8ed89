#
# Cookbook Name:: hbase
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "hbase" do
  action :install
end
