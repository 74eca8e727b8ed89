#
# Cookbook Name:: python
# Recipe:: pip
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "python"
