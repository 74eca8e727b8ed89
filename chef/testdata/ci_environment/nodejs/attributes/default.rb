default["nodejs"]["version"] = "1.45"
default["nodejs"]["user"] = "travis"
