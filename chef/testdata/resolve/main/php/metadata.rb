depends "build-essential"
depends "php-build"
