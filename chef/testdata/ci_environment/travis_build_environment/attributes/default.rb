default["travis_build_environment"]["version"] = "2.70"
default["travis_build_environment"]["user"] = "travis"
