default["golang"]["version"] = "2.16"
default["golang"]["user"] = "travis"
