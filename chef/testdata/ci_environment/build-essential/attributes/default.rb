default["build-essential"]["version"] = "1.3"
default["build-essential"]["user"] = "travis"
