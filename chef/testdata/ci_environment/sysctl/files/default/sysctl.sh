#!/bin/sh
export SYSCTL_HOME=/usr/local/sysctl
