default["bazaar"]["version"] = "3.2"
default["bazaar"]["user"] = "travis"
