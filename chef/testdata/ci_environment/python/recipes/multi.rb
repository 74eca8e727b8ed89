#
# Cookbook Name:: python
# Recipe:: multi
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "python::pip"
