#!/bin/sh
export ANT_HOME=/usr/local/ant
