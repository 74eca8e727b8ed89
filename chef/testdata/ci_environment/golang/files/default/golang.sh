#!/bin/sh
export GOLANG_HOME=/usr/local/golang
