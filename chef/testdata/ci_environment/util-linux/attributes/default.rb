default["util-linux"]["version"] = "1.72"
default["util-linux"]["user"] = "travis"
