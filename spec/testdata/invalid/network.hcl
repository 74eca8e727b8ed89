box "tiny" {
  version = "1"
  url     = "file:tiny.box"
  format  = "qemu"
}

box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}

pool "qemu-bad" {
  box      = "tiny"
  provider = "qemu"
  network {
    egress = "open" # ERROR: Unsupported egress policy
    host_services = [
      "127.0.0.1:3142",
      "127.0.0.1:3142",   # ERROR: Duplicate host service
      "127.0.0.2:3142",   # ERROR: Host service port used twice
      "10.0.2.2:6379",    # ERROR: Invalid host service
      "localhost:80",     # ERROR: Invalid host service
      "127.0.0.1",        # ERROR: Invalid host service
      "127.0.0.1:0",      # ERROR: Invalid host service
      "127.0.0.1:70000",  # ERROR: Invalid host service
      "[fe80::1%lo]:80",  # ERROR: Invalid host service
      "[::1]:8080",
      "127.0.0.1:80",     # ERROR: Privileged host service port
    ]
  }
}

pool "vbox-none" {
  box = "lucid32"
  network {
    egress        = "none" # ERROR: Egress policy not supported by the provider
    host_services = ["127.0.0.1:3142"]
  }
}

pool "qemu-none-ok" {
  box      = "tiny"
  provider = "qemu"
  network {
    egress        = "none"
    host_services = ["127.0.0.1:3142"]
  }
}
