queue {
  host_lease = "20s" # ERROR: Host lease too short
  heartbeat  = "10s"
}

box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}

pool "ruby" {
  box = "lucid32"
}
