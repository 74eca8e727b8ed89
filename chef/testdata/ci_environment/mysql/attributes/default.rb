default["mysql"]["version"] = "1.42"
default["mysql"]["user"] = "travis"
