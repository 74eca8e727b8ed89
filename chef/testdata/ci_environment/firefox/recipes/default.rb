#
# Cookbook Name:: firefox
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "xserver"
package "firefox" do
  action :install
end
