default["sqlite"]["version"] = "3.65"
default["sqlite"]["user"] = "travis"
