#
# Cookbook Name:: golang
# Recipe:: multi
#
# Copyright 2012, Travis CI Development Team
#

package "golang-multi"
