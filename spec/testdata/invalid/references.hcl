box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}

box "lucid32" { # ERROR: Duplicate box
  version = "2.2.0"
  url     = "file:lucid32-2.2.box"
}

box "precise64" { # ERROR: Missing required argument
  version = "1.0.0"
}

host {
  name = "build-01"
}

host { # ERROR: Duplicate host block
  name = "build-02"
}

pool "ruby" {
  box = "lucid23" # ERROR: Unknown box
}

pool "ruby" { # ERROR: Duplicate pool
  box = "lucid32"
}

pool "node" { # ERROR: Missing required argument
  vms = 1
}

pool "erlang" {
  box = "otp" # ERROR: Unknown box
  provision "chef_solo" {
    recipes = ["git"]
  }
  provision "chef_solo" { # ERROR: Duplicate provision block
    recipes = ["erlang"]
  }
}
