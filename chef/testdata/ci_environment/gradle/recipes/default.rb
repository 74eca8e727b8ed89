#
# Cookbook Name:: gradle
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "gradle" do
  action :install
end
