#
# Cookbook Name:: sbt
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "sbt" do
  action :install
end
