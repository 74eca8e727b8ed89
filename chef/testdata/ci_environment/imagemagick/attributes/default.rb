default["imagemagick"]["version"] = "1.21"
default["imagemagick"]["user"] = "travis"
