#
# Cookbook Name:: phantomjs
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "phantomjs" do
  action :install
end

template "/etc/phantomjs.conf" do
  source "phantomjs.conf.erb"
  mode "0644"
end

cookbook_file "/etc/profile.d/phantomjs.sh" do
  mode "0755"
end
