default["libffi"]["version"] = "3.26"
default["libffi"]["user"] = "travis"
