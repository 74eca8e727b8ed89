default["networking_basic"]["version"] = "3.44"
default["networking_basic"]["user"] = "travis"
