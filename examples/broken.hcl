# A deliberately broken fleet file: `agent validate -c examples/broken.hcl` lists every problem
# at once, with file, line and a fix hint. The markers say what each line is expected to report;
# the tests of package spec and of `agent validate` check them.

box "lucid32" {
  version  = "2.1.0"
  url      = "ftp://boxes.example.org/lucid32.box" # ERROR: Invalid box URL
  checksum = "sha256:not-hex" # ERROR: Invalid checksum
}

pool "ruby" {
  box    = "lucid23" # ERROR: Unknown box
  vms    = -1 # ERROR: Invalid number of VMs
  memory = 64 # ERROR: Memory out of range
  queues = ["builds:ruby"] # ERROR: Invalid queue name

  provision "chef_solo" {
    recipes = ["rvm:multi"] # ERROR: Invalid recipe name
  }

  job {
    timeout = "50 mins" # ERROR: Invalid duration
  }
}
