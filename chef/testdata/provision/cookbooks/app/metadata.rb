version "0.1.0"
depends "base"
