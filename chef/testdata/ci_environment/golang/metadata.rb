maintainer       "Travis CI Development Team"
maintainer_email "michael@travis-ci.org"
license          "Apache 2.0"
description      "Installs/Configures golang"
long_description IO.read(File.join(File.dirname(__FILE__), 'README.md'))
version          "1.0.6"

depends "git"
depends 'mercurial', '>= 0.1'  # older versions lack the LWRP
depends "bazaar", "~> 1.0"

%w{ ubuntu debian }.each do |os|
  supports os
end

recipe "golang", "Installs golang"
