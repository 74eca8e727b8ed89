default["cassandra"]["version"] = "2.4"
default["cassandra"]["user"] = "travis"
