maintainer       "Travis CI Development Team"
maintainer_email "michael@travis-ci.org"
license          "Apache 2.0"
description      "Installs/Configures lighttpd"
long_description IO.read(File.join(File.dirname(__FILE__), 'README.md'))
version          "1.0.6"


%w{ ubuntu debian }.each do |os|
  supports os
end

recipe "lighttpd", "Installs lighttpd"
