default["sweeper"]["version"] = "2.67"
default["sweeper"]["user"] = "travis"
