virtualbox {
  ssh_port_range = [2999, 2200] # ERROR: Invalid SSH port range
}

box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}

pool "ruby" {
  box = "lucid32"
}
