maintainer       "Travis CI Development Team"
maintainer_email "michael@travis-ci.org"
license          "Apache 2.0"
description      "Installs/Configures libv8"
long_description IO.read(File.join(File.dirname(__FILE__), 'README.md'))
version          "1.1.3"


%w{ ubuntu debian }.each do |os|
  supports os
end

recipe "libv8", "Installs libv8"
