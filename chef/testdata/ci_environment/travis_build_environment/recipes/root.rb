#
# Cookbook Name:: travis_build_environment
# Recipe:: root
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "travis_build_environment::non_privileged_user"
