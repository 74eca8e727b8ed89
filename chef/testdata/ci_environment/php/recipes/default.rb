#
# Cookbook Name:: php
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "php" do
  action :install
end
