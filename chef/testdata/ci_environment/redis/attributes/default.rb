default["redis"]["version"] = "3.59"
default["redis"]["user"] = "travis"
