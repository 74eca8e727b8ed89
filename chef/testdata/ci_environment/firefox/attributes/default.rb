default["firefox"]["version"] = "3.14"
default["firefox"]["user"] = "travis"
