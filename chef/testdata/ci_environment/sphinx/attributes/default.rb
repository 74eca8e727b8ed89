default["sphinx"]["version"] = "2.64"
default["sphinx"]["user"] = "travis"
