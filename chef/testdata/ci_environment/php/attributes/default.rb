default["php"]["version"] = "2.49"
default["php"]["user"] = "travis"
