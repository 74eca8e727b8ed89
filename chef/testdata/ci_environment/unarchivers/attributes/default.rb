default["unarchivers"]["version"] = "3.71"
default["unarchivers"]["user"] = "travis"
