default["emacs"]["version"] = "3.11"
default["emacs"]["user"] = "travis"
