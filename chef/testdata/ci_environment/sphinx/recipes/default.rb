#
# Cookbook Name:: sphinx
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "sphinx" do
  action :install
end

cookbook_file "/etc/profile.d/sphinx.sh" do
  mode "0755"
end
