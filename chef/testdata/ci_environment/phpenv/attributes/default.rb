default["phpenv"]["version"] = "1.51"
default["phpenv"]["user"] = "travis"
