box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}

pool "ruby" { # ERROR: Unclosed configuration block
  box = "lucid32"
  vms = 5
