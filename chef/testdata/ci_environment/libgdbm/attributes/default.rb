default["libgdbm"]["version"] = "1.27"
default["libgdbm"]["user"] = "travis"
