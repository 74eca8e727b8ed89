default["firebird"]["version"] = "2.13"
default["firebird"]["user"] = "travis"
