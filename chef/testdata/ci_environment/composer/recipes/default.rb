#
# Cookbook Name:: composer
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "composer" do
  action :install
end

cookbook_file "/etc/profile.d/composer.sh" do
  mode "0755"
end
