#
# Cookbook Name:: imagemagick
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "imagemagick" do
  action :install
end

template "/etc/imagemagick.conf" do
  source "imagemagick.conf.erb"
  mode "0644"
end
