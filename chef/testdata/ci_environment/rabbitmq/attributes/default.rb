default["rabbitmq"]["version"] = "2.55"
default["rabbitmq"]["user"] = "travis"
