default["git"]["version"] = "1.15"
default["git"]["user"] = "travis"
