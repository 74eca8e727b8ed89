#
# Cookbook Name:: libxml
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "libxml" do
  action :install
end
