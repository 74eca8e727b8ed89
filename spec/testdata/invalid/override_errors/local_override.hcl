# The override's own values are checked, and reported here rather than in main.hcl.
pool "ruby" {
  vms = -1 # ERROR: Invalid number of VMs
  box = "lucid33" # ERROR: Unknown box
}

pool "ghost" { # ERROR: Missing base block
  box = "lucid32"
}
