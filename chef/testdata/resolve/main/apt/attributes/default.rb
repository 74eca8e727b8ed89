default[:apt][:cacher_port] = 3142
