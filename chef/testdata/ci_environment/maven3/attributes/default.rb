default["maven3"]["version"] = "2.37"
default["maven3"]["user"] = "travis"
