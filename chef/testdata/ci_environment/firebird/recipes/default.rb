#
# Cookbook Name:: firebird
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "firebird" do
  action :install
end
