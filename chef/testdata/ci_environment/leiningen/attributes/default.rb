default["leiningen"]["version"] = "2.25"
default["leiningen"]["user"] = "travis"
