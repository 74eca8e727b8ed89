default["perlbrew"]["version"] = "3.47"
default["perlbrew"]["user"] = "travis"
