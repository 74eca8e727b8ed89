default["clisp"]["version"] = "1.6"
default["clisp"]["user"] = "travis"
