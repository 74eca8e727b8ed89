default["libreadline"]["version"] = "2.31"
default["libreadline"]["user"] = "travis"
