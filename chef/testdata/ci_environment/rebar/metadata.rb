maintainer       "Travis CI Development Team"
maintainer_email "michael@travis-ci.org"
license          "Apache 2.0"
description      "Installs/Configures rebar"
long_description IO.read(File.join(File.dirname(__FILE__), 'README.md'))
version          "1.2.8"

depends "erlang"
depends 'git', '>= 0.1'  # older versions lack the LWRP

%w{ ubuntu debian }.each do |os|
  supports os
end

recipe "rebar", "Installs rebar"
