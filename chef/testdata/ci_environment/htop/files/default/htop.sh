#!/bin/sh
export HTOP_HOME=/usr/local/htop
