queue {
  heartbeat = "500ms" # ERROR: Invalid heartbeat
}

box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}

pool "ruby" {
  box = "lucid32"
}
