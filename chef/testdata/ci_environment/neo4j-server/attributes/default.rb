default["neo4j-server"]["version"] = "2.43"
default["neo4j-server"]["user"] = "travis"
