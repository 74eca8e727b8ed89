default["vim"]["version"] = "2.73"
default["vim"]["user"] = "travis"
