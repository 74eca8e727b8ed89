#
# Cookbook Name:: neo4j-server
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "neo4j-server" do
  action :install
end
