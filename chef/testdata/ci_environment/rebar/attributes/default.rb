default["rebar"]["version"] = "2.58"
default["rebar"]["user"] = "travis"
