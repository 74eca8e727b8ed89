#
# Cookbook Name:: mingw32
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "mingw32" do
  action :install
end

cookbook_file "/etc/profile.d/mingw32.sh" do
  mode "0755"
end
