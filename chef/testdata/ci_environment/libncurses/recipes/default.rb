#
# Cookbook Name:: libncurses
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "libncurses" do
  action :install
end

cookbook_file "/etc/profile.d/libncurses.sh" do
  mode "0755"
end
