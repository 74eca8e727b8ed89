default["subversion"]["version"] = "1.66"
default["subversion"]["user"] = "travis"
