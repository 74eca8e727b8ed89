default["xserver"]["version"] = "3.74"
default["xserver"]["user"] = "travis"
