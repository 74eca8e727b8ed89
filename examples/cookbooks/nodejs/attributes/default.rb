default[:nodejs][:version] = "0.4.12"
