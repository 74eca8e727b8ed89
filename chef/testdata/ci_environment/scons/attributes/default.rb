default["scons"]["version"] = "1.63"
default["scons"]["user"] = "travis"
