maintainer       "Travis CI Development Team"
maintainer_email "michael@travis-ci.org"
license          "Apache 2.0"
description      "Installs/Configures rvm"
long_description IO.read(File.join(File.dirname(__FILE__), 'README.md'))
version          "1.1.1"

depends "apt"
depends 'build-essential', '>= 0.1'  # older versions lack the LWRP
depends "git", "~> 1.0"

%w{ ubuntu debian }.each do |os|
  supports os
end

recipe "rvm", "Installs rvm"
