#
# Cookbook Name:: java
# Recipe:: openjdk7
#
# Copyright 2012, Travis CI Development Team
#

package "java-openjdk7"
