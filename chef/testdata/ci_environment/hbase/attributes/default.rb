default["hbase"]["version"] = "2.19"
default["hbase"]["user"] = "travis"
