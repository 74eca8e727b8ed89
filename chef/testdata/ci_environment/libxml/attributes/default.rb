default["libxml"]["version"] = "2.34"
default["libxml"]["user"] = "travis"
