#
# Cookbook Name:: python
# Recipe:: package
#
# Copyright 2012, Travis CI Development Team
#

package "python-package"
