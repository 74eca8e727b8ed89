default["libqt4"]["version"] = "1.30"
default["libqt4"]["user"] = "travis"
