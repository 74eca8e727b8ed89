default[:git][:user] = "travis"
