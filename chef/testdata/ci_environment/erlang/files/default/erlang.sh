#!/bin/sh
export ERLANG_HOME=/usr/local/erlang
