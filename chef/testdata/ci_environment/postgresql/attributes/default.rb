default["postgresql"]["version"] = "2.52"
default["postgresql"]["user"] = "travis"
