maintainer       "Travis CI Development Team"
maintainer_email "michael@travis-ci.org"
license          "Apache 2.0"
description      "Installs/Configures firefox"
long_description IO.read(File.join(File.dirname(__FILE__), 'README.md'))
version          "1.2.4"

depends "xserver"

%w{ ubuntu debian }.each do |os|
  supports os
end

recipe "firefox", "Installs firefox"
