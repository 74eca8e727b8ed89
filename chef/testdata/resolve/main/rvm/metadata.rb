maintainer       "Travis CI"
description      "Installs RVM and Rubies"
version          "0.0.2"

depends "apt"
depends 'build-essential', '>= 1.0'
depends("git", "~> 0.9")   # parenthesised
