#
# Cookbook Name:: pypy
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "pypy" do
  action :install
end
