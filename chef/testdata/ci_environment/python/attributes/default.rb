default["python"]["version"] = "1.54"
default["python"]["user"] = "travis"
