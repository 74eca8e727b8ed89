#
# Cookbook Name:: unarchivers
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "unarchivers" do
  action :install
end
