#
# Cookbook Name:: travis_build_environment
# Recipe:: non_privileged_user
#
# Copyright 2012, Travis CI Development Team
#

package "travis_build_environment-non-privileged-user"
