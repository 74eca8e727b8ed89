maintainer       "Travis CI Development Team"
maintainer_email "michael@travis-ci.org"
license          "Apache 2.0"
description      "Installs/Configures composer"
long_description IO.read(File.join(File.dirname(__FILE__), 'README.md'))
version          "1.0.8"

depends "php"

%w{ ubuntu debian }.each do |os|
  supports os
end

recipe "composer", "Installs composer"
