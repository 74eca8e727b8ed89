# rvm::multi: example recipe. Under the simulator the chef-solo stand-in checks it exists and records it.
include_recipe "rvm::default"

node[:rvm][:rubies].each do |ruby|
  execute "rvm install #{ruby}"
end
