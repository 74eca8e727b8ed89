default["gradle"]["version"] = "3.17"
default["gradle"]["user"] = "travis"
