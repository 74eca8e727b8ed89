#
# Cookbook Name:: travis_build_environment
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "travis_build_environment::root"
package "travis_build_environment" do
  action :install
end
