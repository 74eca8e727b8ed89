default["apt"]["version"] = "2.1"
default["apt"]["user"] = "travis"
