default["libssl"]["version"] = "3.32"
default["libssl"]["user"] = "travis"
