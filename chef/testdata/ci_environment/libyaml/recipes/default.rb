#
# Cookbook Name:: libyaml
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "libyaml" do
  action :install
end
