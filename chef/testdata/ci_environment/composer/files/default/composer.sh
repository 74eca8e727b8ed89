#!/bin/sh
export COMPOSER_HOME=/usr/local/composer
