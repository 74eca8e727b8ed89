default["riak"]["version"] = "1.60"
default["riak"]["user"] = "travis"
