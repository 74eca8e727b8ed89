default["libyaml"]["version"] = "3.35"
default["libyaml"]["user"] = "travis"
