#
# Cookbook Name:: iptables
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "windows::firewall" if platform?("windows")
package "iptables" do
  action :install
end
