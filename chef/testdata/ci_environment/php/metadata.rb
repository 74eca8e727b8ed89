maintainer       "Travis CI Development Team"
maintainer_email "michael@travis-ci.org"
license          "Apache 2.0"
description      "Installs/Configures php"
long_description IO.read(File.join(File.dirname(__FILE__), 'README.md'))
version          "1.1.9"

depends "build-essential"
depends 'apt', '>= 0.1'  # older versions lack the LWRP
depends "php-build", "~> 1.0"
depends "phpenv"

%w{ ubuntu debian }.each do |os|
  supports os
end

recipe "php", "Installs php"
