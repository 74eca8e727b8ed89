#
# Cookbook Name:: xserver
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "xserver" do
  action :install
end
