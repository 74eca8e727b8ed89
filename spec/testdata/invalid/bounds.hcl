virtualbox {
  max_parallel = 0 # ERROR: Invalid max_parallel
}

queue {
  max_attempts = 0 # ERROR: Invalid max_attempts
}

box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
  ssh {
    port = 70000 # ERROR: Invalid SSH port
  }
}

pool "negative" {
  box    = "lucid32"
  vms    = -1    # ERROR: Invalid number of VMs
  memory = 64    # ERROR: Memory out of range
  cpus   = 0     # ERROR: CPU count out of range
}

pool "absurd" {
  box    = "lucid32"
  vms    = 2000   # ERROR: Invalid number of VMs
  memory = 300000 # ERROR: Memory out of range
  cpus   = 65     # ERROR: CPU count out of range
  rollout {
    max_unavailable = 0 # ERROR: Invalid max_unavailable
  }
}

pool "edges" {
  box    = "lucid32"
  vms    = 0
  memory = 128
  cpus   = 64
}
