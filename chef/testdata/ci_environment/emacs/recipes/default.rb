#
# Cookbook Name:: emacs
# Recipe:: default
#
# Copyright 2012, Travis CI Development Team
#

package "emacs" do
  action :install
end
