#!/bin/sh
export KERL_HOME=/usr/local/kerl
