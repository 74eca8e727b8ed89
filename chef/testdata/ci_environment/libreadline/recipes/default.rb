#
# Cookbook Name:: libreadline
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "libreadline" do
  action :install
end
