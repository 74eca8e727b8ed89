maintainer       "Opscode, Inc."
license          "Apache 2.0"
description      "Configures apt and apt services"
version          "1.1.2"
recipe           "apt", "Runs apt-get update during compile phase"

%w{ ubuntu debian }.each do |os|
  supports os
end
