default["couchdb"]["version"] = "1.9"
default["couchdb"]["user"] = "travis"
