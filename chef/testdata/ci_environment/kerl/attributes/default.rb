default["kerl"]["version"] = "1.24"
default["kerl"]["user"] = "travis"
