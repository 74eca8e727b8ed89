default["mongodb"]["version"] = "3.41"
default["mongodb"]["user"] = "travis"
