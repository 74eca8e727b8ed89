# This host is smaller: fewer VMs and a longer job limit; everything else as shared.
pool "ruby" {
  vms = 2
  job {
    timeout = "2h"
  }
}

host {
  name = "small-01"
}
