# Applied after override.hcl (lexical order): the last override wins.
pool "ruby" {
  vms = 3
}

queue {
  redis = "redis://127.0.0.1:6379/0"
}
