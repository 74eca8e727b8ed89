virtualbox {
  ssh_port_range = [2200, 2205] # ERROR: SSH port range too small
}

box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}

pool "ruby" {
  box = "lucid32"
  vms = 5
}

pool "node" {
  box = "lucid32"
  vms = 1
}
