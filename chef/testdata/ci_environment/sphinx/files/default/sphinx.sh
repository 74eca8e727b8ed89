#!/bin/sh
export SPHINX_HOME=/usr/local/sphinx
