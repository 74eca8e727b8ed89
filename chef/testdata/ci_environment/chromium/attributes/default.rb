default["chromium"]["version"] = "3.5"
default["chromium"]["user"] = "travis"
