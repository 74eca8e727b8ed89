default["elasticsearch"]["version"] = "2.10"
default["elasticsearch"]["user"] = "travis"
