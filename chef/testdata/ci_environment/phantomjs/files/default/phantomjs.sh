#!/bin/sh
export PHANTOMJS_HOME=/usr/local/phantomjs
