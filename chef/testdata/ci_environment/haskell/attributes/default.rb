default["haskell"]["version"] = "1.18"
default["haskell"]["user"] = "travis"
