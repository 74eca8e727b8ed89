#!/bin/sh
export LIBNCURSES_HOME=/usr/local/libncurses
