#
# Cookbook Name:: vim
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "vim" do
  action :install
end
