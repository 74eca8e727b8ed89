#
# Cookbook Name:: openssl
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "openssl" do
  action :install
end
