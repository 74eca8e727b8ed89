box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}
