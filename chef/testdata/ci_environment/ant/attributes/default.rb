default["ant"]["version"] = "1.0"
default["ant"]["user"] = "travis"
