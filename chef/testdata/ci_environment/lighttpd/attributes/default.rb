default["lighttpd"]["version"] = "1.36"
default["lighttpd"]["user"] = "travis"
