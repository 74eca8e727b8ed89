default["phantomjs"]["version"] = "1.48"
default["phantomjs"]["user"] = "travis"
