default["rvm"]["version"] = "2.61"
default["rvm"]["user"] = "travis"
