#
# Cookbook Name:: cmake
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "cmake" do
  action :install
end
