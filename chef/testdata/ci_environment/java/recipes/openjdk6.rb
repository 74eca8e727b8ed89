#
# Cookbook Name:: java
# Recipe:: openjdk6
#
# Copyright 2012, Travis CI Development Team
#

package "java-openjdk6"
