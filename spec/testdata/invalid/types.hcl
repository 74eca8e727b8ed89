box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
  ssh {
    port = "twenty-two" # ERROR: Incorrect attribute value type
  }
}

pool "ruby" {
  box    = "lucid32"
  vms    = "five" # ERROR: Incorrect attribute value type
  memory = 1536.5 # ERROR: Incorrect attribute value type
  cpus   = true   # ERROR: Incorrect attribute value type
  queues = { name = "builds" } # ERROR: Incorrect attribute value type
  provision "chef_solo" {
    recipes = "git" # ERROR: Incorrect attribute value type
    json    = ["not", "an", "object"] # ERROR: Incorrect attribute value type
  }
}
