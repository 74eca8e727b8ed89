#
# Cookbook Name:: rebar
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "rebar" do
  action :install
end
