#
# Cookbook Name:: rvm
# Recipe:: multi
#
# Copyright 2012, Travis CI Development Team
#

include_recipe "rvm"

node[:rvm][:rubies].each do |rb|
  rvm_ruby rb[:name] do
    arguments rb[:arguments]
  end
end
