# nodejs::default: example recipe. Under the simulator the chef-solo stand-in checks it exists and records it.
execute "install node #{node[:nodejs][:version]}"
