#
# Cookbook Name:: rabbitmq
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "rabbitmq" do
  action :install
end
