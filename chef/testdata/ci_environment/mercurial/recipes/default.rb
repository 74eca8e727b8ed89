#
# Cookbook Name:: mercurial
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "mercurial" do
  action :install
end

template "/etc/mercurial.conf" do
  source "mercurial.conf.erb"
  mode "0644"
end
