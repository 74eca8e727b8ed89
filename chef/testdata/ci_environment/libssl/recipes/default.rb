#
# Cookbook Name:: libssl
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "libssl" do
  action :install
end

cookbook_file "/etc/profile.d/libssl.sh" do
  mode "0755"
end
