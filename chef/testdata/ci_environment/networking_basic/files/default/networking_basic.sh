#!/bin/sh
export NETWORKING_BASIC_HOME=/usr/local/networking_basic
