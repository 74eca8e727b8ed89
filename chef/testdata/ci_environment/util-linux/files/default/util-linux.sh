#!/bin/sh
export UTIL_LINUX_HOME=/usr/local/util-linux
