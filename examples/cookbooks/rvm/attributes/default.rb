default[:rvm][:rubies] = ["1.9.2"]
default[:rvm][:default_ruby] = "1.9.2"
