queue {
  redis = env("FLEET_SPEC_TEST_UNSET_VAR") # ERROR: Environment variable not set
}

box "lucid32" {
  version = file("no-such-file.txt") # ERROR: Error in function call
  url     = "file:lucid32.box"
}

pool "ruby" {
  box    = "lucid32"
  queues = [env("FLEET_SPEC_TEST_UNSET_VAR", "a", "b")] # ERROR: Invalid function argument
  memory = nope # ERROR: Variables not allowed
}
