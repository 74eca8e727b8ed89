default["erlang"]["version"] = "1.12"
default["erlang"]["user"] = "travis"
