#
# Cookbook Name:: bazaar
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "bazaar" do
  action :install
end
