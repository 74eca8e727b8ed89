#!/usr/bin/env bash
# Runs every fuzz target in the module for a short time (default 5s each): a smoke test that no
# parser panics on the corpus plus a few seconds of mutation. Fails on the first crash.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-5s}
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
