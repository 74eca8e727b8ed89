default["timezone"]["version"] = "1.69"
default["timezone"]["user"] = "travis"
