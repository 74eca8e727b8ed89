#
# Cookbook Name:: libossp-uuid
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "libossp-uuid" do
  action :install
end
