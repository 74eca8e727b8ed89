#
# Cookbook Name:: golang
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "golang" do
  action :install
end

cookbook_file "/etc/profile.d/golang.sh" do
  mode "0755"
end
