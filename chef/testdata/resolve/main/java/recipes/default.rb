include_recipe "java::#{node['java']['install_flavor']}"
