default["openssl"]["version"] = "2.46"
default["openssl"]["user"] = "travis"
