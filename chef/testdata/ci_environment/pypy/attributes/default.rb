default["pypy"]["version"] = "3.53"
default["pypy"]["user"] = "travis"
