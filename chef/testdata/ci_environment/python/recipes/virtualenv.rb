#
# Cookbook Name:: python
# Recipe:: virtualenv
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "python::pip"
