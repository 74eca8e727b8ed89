default["sysctl"]["version"] = "3.68"
default["sysctl"]["user"] = "travis"
