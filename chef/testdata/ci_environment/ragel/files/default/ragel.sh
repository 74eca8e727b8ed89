#!/bin/sh
export RAGEL_HOME=/usr/local/ragel
