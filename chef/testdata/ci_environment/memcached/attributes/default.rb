default["memcached"]["version"] = "3.38"
default["memcached"]["user"] = "travis"
