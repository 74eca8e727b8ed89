default["java"]["version"] = "3.23"
default["java"]["user"] = "travis"
