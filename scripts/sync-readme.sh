#!/usr/bin/env bash
# Copies docs/FLEET-HCL.md (headings one level down, title dropped) into README.md's
# "fleet.hcl reference" section, between it and the next "## " heading. spec's
# TestREADMECarriesTheFleetHCLReference fails when the two drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."
body=$(tail -n +2 docs/FLEET-HCL.md | sed -e 's/^#/##/' | sed -e '/./,$!d')
awk -v body="$body" '
  /^## fleet.hcl reference$/ { print; print ""; print "The same text is in [docs/FLEET-HCL.md](docs/FLEET-HCL.md); a commented, realistic file is"; print "[fleet.hcl.example](fleet.hcl.example)."; print ""; print body; print ""; skip=1; next }
  skip && /^## / { skip=0 }
  !skip { print }
' README.md > README.md.tmp
mv README.md.tmp README.md
