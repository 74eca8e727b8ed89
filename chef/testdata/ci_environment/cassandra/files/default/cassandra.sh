#!/bin/sh
export CASSANDRA_HOME=/usr/local/cassandra
