# rvm::default: example recipe. Under the simulator the chef-solo stand-in checks it exists and records it.
