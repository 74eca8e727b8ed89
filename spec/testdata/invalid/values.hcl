host {
  name = "build:01" # ERROR: Invalid host name
}

queue {
  redis = "http://127.0.0.1:6379" # ERROR: Invalid Redis URL
}

box "md5" {
  version  = "1.0.0"
  url      = "ftp://boxes.example.org/md5.box" # ERROR: Invalid box URL
  checksum = "md5:0123456789abcdef0123456789abcdef" # ERROR: Invalid checksum
}

box "short" {
  version  = "1.0.0"
  url      = "https:///short.box" # ERROR: Invalid box URL
  checksum = "sha256:abc" # ERROR: Invalid checksum
}

box "unverified" {
  version = "1.0.0"
  url     = "https://boxes.example.org/unverified.box" # WARNING: Unverified box download
}

pool "Ruby_Builds" { # ERROR: Invalid pool name
  box      = "md5"
  provider = "vmware" # ERROR: Unsupported provider
  rollback = "snapshot" # ERROR: Unsupported rollback strategy
  queues   = ["", "builds:ruby", "ok", "has space", "ok"] # ERROR: Invalid queue name # ERROR: Invalid queue name # ERROR: Invalid queue name # ERROR: Duplicate queue
  provision "chef_solo" {
    recipes = ["recipe[git]", "rvm:::multi", "build-essential"] # ERROR: Invalid recipe name # ERROR: Invalid recipe name
  }
  job {
    timeout     = "50 minutes" # ERROR: Invalid duration
    log_silence = "-1m" # ERROR: Invalid duration
    max_log     = "4XB" # ERROR: Invalid size
  }
}

pool "a-pool-name-that-is-far-too-long-for-a-vm-prefix" { # ERROR: Invalid pool name
  box = "short"
  provision "shell" { # ERROR: Unsupported provisioner
  }
}

pool "empty-lists" {
  box    = "short"
  queues = [] # ERROR: No queues
  provision "chef_solo" {
    cookbooks = [] # ERROR: No cookbook folders
    recipes   = [] # ERROR: No recipes
  }
  job {
    max_log = "0" # ERROR: Invalid size
  }
}
