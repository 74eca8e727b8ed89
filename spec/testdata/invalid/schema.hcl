# Unknown blocks and attributes come with HCL's own "did you mean".
box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}

pool "ruby" {
  box    = "lucid32"
  memroy = 1536 # ERROR: Unsupported argument
  jbo { # ERROR: Unsupported block type
    timeout = "50m"
  }
}

poool "node" { # ERROR: Unsupported block type
  box = "lucid32"
}
