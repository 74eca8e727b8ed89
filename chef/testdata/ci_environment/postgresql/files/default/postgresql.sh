#!/bin/sh
export POSTGRESQL_HOME=/usr/local/postgresql
