#
# Cookbook Name:: ant
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "ant" do
  action :install
end

template "/etc/ant.conf" do
  source "ant.conf.erb"
  mode "0644"
end

cookbook_file "/etc/profile.d/ant.sh" do
  mode "0755"
end
