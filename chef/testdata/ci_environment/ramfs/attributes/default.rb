default["ramfs"]["version"] = "1.57"
default["ramfs"]["user"] = "travis"
