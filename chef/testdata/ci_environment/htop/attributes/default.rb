default["htop"]["version"] = "3.20"
default["htop"]["user"] = "travis"
