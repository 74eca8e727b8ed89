#
# Cookbook Name:: chromium
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "chromium" do
  action :install
end
