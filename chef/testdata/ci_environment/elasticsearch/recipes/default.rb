#
# Cookbook Name:: elasticsearch
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "elasticsearch" do
  action :install
end
