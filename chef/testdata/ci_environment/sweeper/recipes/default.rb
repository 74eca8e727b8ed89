#
# Cookbook Name:: sweeper
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

%w(apt git).each { |r| include_recipe r }
package "sweeper" do
  action :install
end
