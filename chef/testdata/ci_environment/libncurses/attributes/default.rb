default["libncurses"]["version"] = "2.28"
default["libncurses"]["user"] = "travis"
