default["zeromq"]["version"] = "1.75"
default["zeromq"]["user"] = "travis"
