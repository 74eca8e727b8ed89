version "0.9.0"
depends "build-essential"
