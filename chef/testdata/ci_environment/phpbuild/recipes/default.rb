#
# Cookbook Name:: phpbuild
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "phpbuild" do
  action :install
end
