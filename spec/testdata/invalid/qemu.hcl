qemu {
  binary = "" # ERROR: Empty path
  accel  = "hvf" # ERROR: Unsupported accelerator
}

box "tiny" {
  version = "1"
  url     = "file:tiny.box"
  format  = "qemu"
}

box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
  cmdline = "console=ttyS0" # ERROR: Command line without direct boot
}

box "odd" {
  version = "1"
  url     = "file:odd.box"
  format  = "ova" # ERROR: Unsupported box format
}

pool "vbox-on-qcow2" {
  box = "tiny" # ERROR: Box format does not fit the provider
}

pool "qemu-on-vagrant" {
  box      = "lucid32" # ERROR: Box format does not fit the provider
  provider = "qemu"
}

pool "qemu-ok" {
  box      = "tiny"
  provider = "qemu"
}

pool "vbox-ok" {
  box = "lucid32"
}
