#
# Cookbook Name:: htop
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "htop" do
  action :install
end

cookbook_file "/etc/profile.d/htop.sh" do
  mode "0755"
end
