default["mingw32"]["version"] = "2.40"
default["mingw32"]["user"] = "travis"
