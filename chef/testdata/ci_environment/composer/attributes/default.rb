default["composer"]["version"] = "3.8"
default["composer"]["user"] = "travis"
