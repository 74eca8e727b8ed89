default["ragel"]["version"] = "3.56"
default["ragel"]["user"] = "travis"
