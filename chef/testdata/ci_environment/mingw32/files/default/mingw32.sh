#!/bin/sh
export MINGW32_HOME=/usr/local/mingw32
