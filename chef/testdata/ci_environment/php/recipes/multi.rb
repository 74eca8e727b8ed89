#
# Cookbook Name:: php
# Recipe:: multi
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "phpenv"
include_recipe "phpbuild"
