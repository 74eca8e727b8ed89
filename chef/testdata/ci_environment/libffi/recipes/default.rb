#
# Cookbook Name:: libffi
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "libffi" do
  action :install
end
