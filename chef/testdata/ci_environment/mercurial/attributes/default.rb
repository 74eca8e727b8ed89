default["mercurial"]["version"] = "1.39"
default["mercurial"]["user"] = "travis"
