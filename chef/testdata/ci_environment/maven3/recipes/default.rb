#
# Cookbook Name:: maven3
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "maven3" do
  action :install
end
