default["cmake"]["version"] = "2.7"
default["cmake"]["user"] = "travis"
