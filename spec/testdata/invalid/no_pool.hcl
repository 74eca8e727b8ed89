box "lucid32" { # ERROR: No pool declared
  version = "2.1.0"
  url     = "file:lucid32.box"
}
