#
# Cookbook Name:: git
# Recipe:: ppa
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "apt"
