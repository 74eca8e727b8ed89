default["sbt"]["version"] = "3.62"
default["sbt"]["user"] = "travis"
