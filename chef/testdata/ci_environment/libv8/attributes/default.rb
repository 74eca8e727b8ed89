default["libv8"]["version"] = "1.33"
default["libv8"]["user"] = "travis"
