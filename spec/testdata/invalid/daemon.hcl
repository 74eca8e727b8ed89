reconcile {
  resync = "500ms" # ERROR: Resync too short
}

metrics {
  listen = "9464" # ERROR: Invalid listen address
}

box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}

pool "ruby" {
  box = "lucid32"
}
