#!/bin/sh
export LIBSSL_HOME=/usr/local/libssl
