version "1.1.0"
depends "openssl"
