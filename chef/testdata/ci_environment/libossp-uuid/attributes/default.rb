default["libossp-uuid"]["version"] = "3.29"
default["libossp-uuid"]["user"] = "travis"
