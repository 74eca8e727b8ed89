#
# Cookbook Name:: gradle
# Recipe:: tarball
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "unarchivers"
