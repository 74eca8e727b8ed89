#!/bin/sh
export LIGHTTPD_HOME=/usr/local/lighttpd
