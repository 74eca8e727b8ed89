default["phpbuild"]["version"] = "3.50"
default["phpbuild"]["user"] = "travis"
