maintainer       "fleet agent examples"
license          "Apache 2.0"
description      "Installs build-essential (example cookbook for fleet.hcl.example and the demo)"
version          "0.1.0"
