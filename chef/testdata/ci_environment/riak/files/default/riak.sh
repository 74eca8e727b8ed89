#!/bin/sh
export RIAK_HOME=/usr/local/riak
