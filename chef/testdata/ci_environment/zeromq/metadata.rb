maintainer       "Travis CI Development Team"
maintainer_email "michael@travis-ci.org"
license          "Apache 2.0"
description      "Installs/Configures zeromq"
long_description IO.read(File.join(File.dirname(__FILE__), 'README.md'))
version          "1.3.5"

recommends "logrotate"
suggests "monit"

%w{ ubuntu debian }.each do |os|
  supports os
end

recipe "zeromq", "Installs zeromq"
