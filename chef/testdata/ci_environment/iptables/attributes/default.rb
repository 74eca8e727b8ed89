default["iptables"]["version"] = "2.22"
default["iptables"]["user"] = "travis"
