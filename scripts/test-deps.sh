#!/usr/bin/env bash
# Installs what the test suites need, only when it is missing: redis-server (queue tests),
# openssh-server (guest tests run a real sshd), git and procps (the sandbox's jobs clone a local
# repository and diagnose with ps), QEMU and the tools that build the tiny real-VM test guest
# (scripts/qemu-deps.sh), chromium (the web dashboard's browser test), and the node-resque interop test's npm modules.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
command -v git >/dev/null 2>&1 || need+=(git)
command -v ps >/dev/null 2>&1 || need+=(procps)
command -v chromium >/dev/null 2>&1 || need+=(chromium) # the web dashboard's browser test
if [ ${#need[@]} -gt 0 ]; then
  echo "test-deps: installing ${need[*]} from Debian packages"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

scripts/qemu-deps.sh

interop=queue/testdata/interop
if [ -f "$interop/package.json" ] && [ ! -d "$interop/node_modules" ]; then
  echo "test-deps: npm install in $interop"
  if [ -f "$interop/package-lock.json" ]; then
    (cd "$interop" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$interop" && npm install --no-audit --no-fund --loglevel=error)
  fi
fi
