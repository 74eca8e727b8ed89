#!/usr/bin/env bash
# `make demo`: the fleet agent's main job, end to end, on this machine: on real QEMU VMs when
# QEMU is installed or installable (about a minute once the guest image is cached), else on the
# VirtualBox simulator (about 15 s once built). Its first lines say which.
#
# QEMU path: scripts/qemu-deps.sh installs QEMU and the image tools when QEMU is missing;
# `fleet-testimage box` (qemu/imagebuild/cmd/fleet-testimage) builds the tiny Linux guest the
# QEMU provider's tests boot (cached) and packs it as a box; `fleet-testimage serve` serves the
# repository on 127.0.0.1, opened to the guests as the pool's one host service (they fetch it at
# their own 127.0.0.1 on the same port; their `git` is a stand-in that fetches URL/archive.tar).
# A job shows that the host's Redis is not reachable from a build, while that service is.
# The proof of rollback is from inside the VMs: after the vandal, two check jobs run at once, one
# on each VM. The agent leaves QEMU VMs running on exit by design: the demo kills them itself.
#
# Simulator path: VirtualBox is SIMULATED: `vboxsim` (vbox/vboxsim) is a VBoxManage stand-in whose VMs are
# folders and whose guests are SSH servers over those folders. Everything else is real: the agent
# binary, a private redis-server, git, SSH, chef-solo's files (run by chef-solo-sim), rollback.
#
# Steps: install redis-server if missing; build agent, vboxsim and chef-solo-sim; make a
# throwaway folder with a demo box, a git repository with a test suite and a fleet.hcl (one pool,
# two workers); start redis-server on a free loopback port; agent plan; agent run in the
# background; wait until both workers serve; submit a passing, a failing and a VM-damaging job;
# stream their logs; show agent status; prove the damaged VM was rolled back (its disk before and
# after, and a fourth job that checks from inside); agent drain --wait; stop the agent; clean up
# every process started here. Exits 0 only if every check held.
#
# Environment: FLEET_DEMO_PROVIDER=sim|qemu forces a path; FLEET_DEMO_QEMU_ACCEL=auto|kvm|tcg
# sets qemu.accel (default auto: KVM when /dev/kvm is usable); FLEET_DEMO_KEEP=1 keeps the throwaway folder; VBOXSIM_PROFILE=realistic charges
# VirtualBox's real latencies (slower); FLEET_DEMO_BASE is where the folder goes (default
# /var/tmp: the simulator binds a guest's /tmp onto its own disk only when the disk is outside
# /tmp, which is what lets the damaging job's /tmp junk be rolled back).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. scripts/lib/redis.sh
T0=$(date +%s)

bold() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
say() { printf '   %s\n' "$*"; }
fail() { printf '\nDEMO FAILED: %s\n' "$*" >&2; exit 1; }
elapsed() { echo "$(($(date +%s) - T0))s"; }

# ---- what the demo needs -------------------------------------------------------------------
bold "1/10 Checking tools"
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v git >/dev/null 2>&1 || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} from Debian packages"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v go >/dev/null 2>&1 || fail "go is not on PATH: install Go 1.26 (https://go.dev/dl/)"
say "redis-server: $(redis-server --version | cut -d' ' -f3), git: $(git --version | cut -d' ' -f3), go: $(go env GOVERSION)"

# Which VMs: real QEMU ones when QEMU is (or can be made) present and the guest image builds.
PROVIDER=${FLEET_DEMO_PROVIDER:-}
case "$PROVIDER" in "" | sim | qemu) ;; *) fail "FLEET_DEMO_PROVIDER=$PROVIDER: want sim or qemu" ;; esac
WHY="FLEET_DEMO_PROVIDER=$PROVIDER"
QBOX=$ROOT/bin/demo-qemu.box
if [ "$PROVIDER" != sim ]; then
  if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    say "QEMU is missing: installing it with scripts/qemu-deps.sh"
    scripts/qemu-deps.sh >/dev/null 2>&1 || say "scripts/qemu-deps.sh failed"
  fi
  why=""
  if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    why="qemu-system-x86_64 is not installed and could not be"
  else
    scripts/qemu-deps.sh >/dev/null 2>&1 || true # the image tools, when only they are missing
    mkdir -p bin
    if ! { CGO_ENABLED=0 go build -trimpath -o bin/chef-solo-static ./chef/cmd/chef-solo-sim &&
      go build -o bin/fleet-testimage ./qemu/imagebuild/cmd/fleet-testimage &&
      bin/fleet-testimage box -out "$QBOX" -chef-solo bin/chef-solo-static >bin/demo-qemu.env 2>bin/demo-qemu.err; }; then
      why="the QEMU guest image did not build: $(tail -n 1 bin/demo-qemu.err 2>/dev/null)"
    fi
  fi
  if [ -z "$why" ]; then
    PROVIDER=qemu
    [ -n "${FLEET_DEMO_PROVIDER:-}" ] || WHY="QEMU is installed and the guest image builds"
  elif [ "$PROVIDER" = qemu ]; then
    fail "FLEET_DEMO_PROVIDER=qemu, but $why"
  else
    PROVIDER=sim WHY=$why
  fi
fi
if [ "$PROVIDER" = qemu ]; then
  QEMU_ACCEL=${FLEET_DEMO_QEMU_ACCEL:-auto}
  case "$QEMU_ACCEL" in
  auto) ACCEL=TCG; if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL=KVM; fi ;;
  kvm | tcg) ACCEL=$(echo "$QEMU_ACCEL" | tr a-z A-Z) ;;
  *) fail "FLEET_DEMO_QEMU_ACCEL=$QEMU_ACCEL: want auto, kvm or tcg" ;;
  esac
  bold "This demo runs on REAL QEMU VMs ($ACCEL): $WHY"
  echo "   VirtualBox is not used here. On a VirtualBox host the same fleet.hcl works with the pool's"
  echo "   provider = \"virtualbox\" (the default) and a Vagrant box: README.md, \"Quick start on a VirtualBox"
  echo "   host\". FLEET_DEMO_PROVIDER=sim runs this demo against the VirtualBox simulator instead."
  WAIT=180
else
  bold "This demo runs on the VirtualBox SIMULATOR: $WHY"
fi

if [ "$PROVIDER" = qemu ]; then
  bold "2/10 Building agent (fleet-testimage and the guest's chef-solo-sim were built above)"
else
  bold "2/10 Building agent, vboxsim (the VirtualBox simulator) and chef-solo-sim"
fi
mkdir -p bin
go build -o bin/agent ./agent
go build -o bin/vboxsim ./vbox/vboxsim/cmd/vboxsim
go build -o bin/chef-solo-sim ./chef/cmd/chef-solo-sim
AGENT=$ROOT/bin/agent
VBOXSIM=$ROOT/bin/vboxsim
QSERVE=$ROOT/bin/fleet-testimage
say "bin/agent, bin/vboxsim, bin/chef-solo-sim ($(elapsed))"

# ---- the throwaway folder and cleanup ------------------------------------------------------
BASE=${FLEET_DEMO_BASE:-/var/tmp}
[ -d "$BASE" ] && [ -w "$BASE" ] || BASE=${TMPDIR:-/tmp}
DEMO=$(mktemp -d "$BASE/fleet-demo.XXXXXX")
export VBOXSIM_HOME=$DEMO/virtualbox
export FLEET_CONFIG=$DEMO/fleet.hcl
REDIS_PID="" AGENT_PID="" WEB_PID=""
# WAIT bounds every wait on the agent; simulated latencies and real VMs make everything slower.
WAIT=90
[ "$PROVIDER" != qemu ] || WAIT=180
[ -z "${VBOXSIM_PROFILE:-}" ] || WAIT=600

# qemu_pids lists the running qemu processes of this demo's VMs: their command lines name a VM
# folder in this demo's state_dir/qemu (nothing else does).
qemu_pids() {
  local p
  for p in /proc/[0-9]*; do
    if tr '\0' '\n' 2>/dev/null <"$p/cmdline" | grep -qF "$DEMO/state/qemu/"; then
      grep -q '^State:.*Z' "$p/status" 2>/dev/null || echo "${p#/proc/}"
    fi
  done
}

# guest_pids lists the processes whose environment names this demo's VBOXSIM_HOME: the
# simulator's guests and what they started. Only this demo's folder matches.
guest_pids() {
  local p
  for p in /proc/[0-9]*; do
    if tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "VBOXSIM_HOME=$VBOXSIM_HOME"; then
      echo "${p#/proc/}"
    fi
  done
}

# stop_all stops every process this demo started: the agent, the simulated VMs' guests (powered
# off as one would with VBoxManage, then any straggler), and redis-server.
stop_all() {
  if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
    kill -TERM "$AGENT_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$AGENT_PID" 2>/dev/null
    wait "$AGENT_PID" 2>/dev/null
  fi
  AGENT_PID=""
  if [ -d "$VBOXSIM_HOME" ]; then
    "$VBOXSIM" list runningvms 2>/dev/null | sed -n 's/^"\(.*\)" {.*}$/\1/p' | while read -r vm; do
      "$VBOXSIM" controlvm "$vm" poweroff >/dev/null 2>&1
    done
    local left
    left=$(guest_pids)
    if [ -n "$left" ]; then kill -KILL $left 2>/dev/null; fi
  fi
  # The agent leaves QEMU VMs running by design: power them off (SIGTERM), then any straggler.
  local q
  q=$(qemu_pids)
  if [ -n "$q" ]; then
    kill -TERM $q 2>/dev/null
    for _ in $(seq 50); do [ -n "$(qemu_pids)" ] || break; sleep 0.1; done
    q=$(qemu_pids)
    if [ -n "$q" ]; then kill -KILL $q 2>/dev/null; fi
  fi
  if [ -n "$WEB_PID" ]; then
    kill -TERM "$WEB_PID" 2>/dev/null
    wait "$WEB_PID" 2>/dev/null
  fi
  WEB_PID=""
  if [ -n "$REDIS_PID" ]; then
    kill -TERM "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
  fi
  REDIS_PID=""
}

cleanup() {
  local code=$?
  set +e
  trap - EXIT INT TERM
  stop_all
  if [ "$code" -ne 0 ] && [ -f "$DEMO/agent.log" ]; then
    printf '\nLast lines of the agent log (%s):\n' "$DEMO/agent.log" >&2
    tail -n 30 "$DEMO/agent.log" >&2
  fi
  if [ "${FLEET_DEMO_KEEP:-}" = 1 ] || [ "$code" -ne 0 ]; then
    echo "The demo's folder is kept: $DEMO"
  else
    rm -rf "$DEMO"
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- inputs: box, repository, fleet.hcl ----------------------------------------------------
bold "3/10 Making a demo box, a git repository with a test suite, and fleet.hcl in $DEMO"
mkdir -p "$DEMO/guest-bin" "$DEMO/shared"
if [ "$PROVIDER" = qemu ]; then
  BOX_USER="" BOX_KEY="" BOX_SHA256=""
  . bin/demo-qemu.env # BOX_USER, BOX_KEY, BOX_SHA256, IMAGE_KEY from fleet-testimage box
  BOX=$QBOX BOX_SHA=$BOX_SHA256
  say "box      $BOX (the tiny QEMU guest of qemu/imagebuild, cached; sha256 ${BOX_SHA:0:12}...)"
else
  cp bin/chef-solo-sim "$DEMO/guest-bin/chef-solo" # the guest's chef-solo
  "$VBOXSIM" make-box --out "$DEMO/box" --name lucid32 --bin "$DEMO/guest-bin/chef-solo" \
    --authorized-key examples/demo/vagrant.pub >/dev/null
  (cd "$DEMO/box" && tar -czf "$DEMO/lucid32.box" *)
  BOX=$DEMO/lucid32.box
  BOX_SHA=$(sha256sum "$BOX" | cut -d' ' -f1)
  say "box      $BOX (a Vagrant box whose disk is a folder; sha256 ${BOX_SHA:0:12}...)"
fi

REPO=$DEMO/shared/calc
gitq() { git -C "$REPO" -c user.name=demo -c user.email=demo@example.org -c init.defaultBranch=main "$@" >/dev/null; }
mkdir -p "$REPO"
cp examples/demo/repo/* "$REPO/"
gitq init -q
gitq add -A
gitq commit -q -m "calc with a test suite"
GOOD=$(git -C "$REPO" rev-parse HEAD)
gitq checkout -q -b broken
cp examples/demo/repo-broken/calc.sh "$REPO/calc.sh"
gitq commit -q -am "optimise multiplication"
BAD=$(git -C "$REPO" rev-parse HEAD)
gitq checkout -q main
say "repo     file://$REPO  main=${GOOD:0:8} (tests pass), broken=${BAD:0:8} (tests fail)"
URL_GOOD=file://$REPO URL_BAD=file://$REPO
if [ "$PROVIDER" = qemu ]; then
  # The guests' git stand-in fetches URL/archive.tar: one URL per commit, served on the host's
  # 127.0.0.1 and forwarded into each build at the guest's 127.0.0.1 (network.host_services).
  WEB=$DEMO/web
  mkdir -p "$WEB/calc-main" "$WEB/calc-broken" "$WEB/release"
  git -C "$REPO" archive -o "$WEB/calc-main/archive.tar" "$GOOD"
  git -C "$REPO" archive -o "$WEB/calc-broken/archive.tar" "$BAD"
  "$QSERVE" serve -dir "$WEB" -port-file "$DEMO/web.port" </dev/null >"$DEMO/web.log" 2>&1 &
  WEB_PID=$!
  for _ in $(seq 100); do [ -s "$DEMO/web.port" ] || sleep 0.1; done
  [ -s "$DEMO/web.port" ] || fail "fleet-testimage serve did not start (see $DEMO/web.log)"
  WEB_PORT=$(cat "$DEMO/web.port")
  WEB_URL=http://127.0.0.1:$WEB_PORT
  URL_GOOD=$WEB_URL/calc-main URL_BAD=$WEB_URL/calc-broken
  say "web      pid $WEB_PID serves $WEB on the host's 127.0.0.1:$WEB_PORT; the pool's host_services opens it to the guests as $WEB_URL"
fi

# A free loopback port for Redis and a block of 100 for the guests' forwarded SSH ports.
start_private_redis "$DEMO" || fail "could not start redis-server on a free loopback port (see $DEMO/redis.log)"
PORT_LO=$((32000 + RANDOM % 7 * 100)) # below the ephemeral range and the test suites' blocks

TEMPLATE=examples/demo/fleet.hcl.in
[ "$PROVIDER" != qemu ] || TEMPLATE=examples/demo/fleet-qemu.hcl.in
sed -e "s|@STATE_DIR@|$DEMO/state|" -e "s|@MANAGE@|$VBOXSIM|" \
  -e "s|@PORT_LO@|$PORT_LO|" -e "s|@PORT_HI@|$((PORT_LO + 99))|" \
  -e "s|@REDIS_URL@|redis://127.0.0.1:$REDIS_PORT/0|" -e "s|@BOX@|$BOX|" \
  -e "s|@BOX_SHA256@|$BOX_SHA|" -e "s|@COOKBOOKS@|$ROOT/examples/cookbooks|" \
  -e "s|@BOX_USER@|${BOX_USER:-}|" -e "s|@BOX_KEY@|${BOX_KEY:-}|" -e "s|@ACCEL@|${QEMU_ACCEL:-auto}|" \
  -e "s|@WEB_PORT@|${WEB_PORT:-}|" \
  "$TEMPLATE" >"$FLEET_CONFIG"
say "redis    redis-server pid $REDIS_PID on 127.0.0.1:$REDIS_PORT (private to this demo)"
if [ "$PROVIDER" = qemu ]; then
  say "config   $FLEET_CONFIG (pool \"ruby\": 2 workers; provider = \"qemu\", accel = \"$QEMU_ACCEL\")"
else
  say "config   $FLEET_CONFIG (pool \"ruby\": 2 workers; virtualbox.manage = $VBOXSIM)"
fi
"$AGENT" validate -c "$FLEET_CONFIG" >/dev/null || fail "agent validate rejected the demo fleet.hcl"

if [ "$PROVIDER" = qemu ]; then
  cat <<EOF

   NOTE: these are real QEMU VMs ($ACCEL) running a tiny Debian-kernel busybox guest; their
   processes and disks live in $DEMO/state/qemu.
EOF
else
  cat <<EOF

   NOTE: VirtualBox is simulated. The agent runs $VBOXSIM exactly as it would run
   VBoxManage; the simulated VMs live in $VBOXSIM_HOME.
   To drive real VirtualBox with this same fleet.hcl, delete the "manage" line (or set
   manage = "/usr/bin/VBoxManage") and point box "lucid32" at a real Vagrant box.
EOF
fi

# ---- plan, run ---------------------------------------------------------------------------
A() { "$AGENT" -c "$FLEET_CONFIG" --log-level warn "$@"; }

bold "4/10 agent plan: what the agent would do to this host"
set +e
A plan --detailed-exitcode
code=$?
set -e
[ "$code" -eq 2 ] || fail "agent plan --detailed-exitcode = $code, want 2 (changes to make)"

bold "5/10 agent run in the background; waiting for both workers"
"$AGENT" run -c "$FLEET_CONFIG" --log-format text </dev/null >"$DEMO/agent.log" 2>&1 &
AGENT_PID=$!
say "agent pid $AGENT_PID, log $DEMO/agent.log"
serving=0
deadline=$(($(date +%s) + WAIT))
while [ "$(date +%s)" -lt "$deadline" ]; do
  kill -0 "$AGENT_PID" 2>/dev/null || fail "agent run exited early"
  serving=$(A status --json 2>/dev/null | tr -d ' \n' | grep -o '"serving":true' | wc -l || true)
  [ "$serving" -ge 2 ] && break
  sleep 0.5
done
[ "$serving" -ge 2 ] || fail "the two workers were not serving within ${WAIT}s"
say "box imported, golden image provisioned with chef-solo, ruby-1 and ruby-2 cloned and serving ($(elapsed))"
if [ "$PROVIDER" = qemu ]; then
  say "qemu processes of this demo: $(qemu_pids | tr '\n' ' ')"
else
  # Each worker's authorized_keys as the job will find it (the agent put its own key there while
  # making the golden image), to compare with what rollback brings back.
  keys_sum() { sha256sum <"$VBOXSIM_HOME/machines/$1/disk/home/vagrant/.ssh/authorized_keys" | cut -d' ' -f1; }
  declare -A KEYS=([ruby-1]=$(keys_sum ruby-1) [ruby-2]=$(keys_sum ruby-2))
fi

# ---- three jobs ------------------------------------------------------------------------------
bold "6/10 Submitting three jobs"
RELEASE=$DEMO/shared/release-vandal
submit() { A submit --repo demo/calc -q builds "$@" >/dev/null; }
submit --id pass-1 --url "$URL_GOOD" --commit "$GOOD" --branch main -s 'sh test.sh'
submit --id fail-1 --url "$URL_BAD" --commit "$BAD" --branch broken -s 'sh test.sh'
if [ "$PROVIDER" = qemu ]; then
  # No disk to look at from outside: the job shows its damage itself.
  submit --id vandal-1 --url "$URL_GOOD" --commit "$GOOD" --branch main \
    -s 'rm ~/.ssh/authorized_keys && echo "removed ~/.ssh/authorized_keys   # without it nobody can log in"' \
    -s 'echo junk >~/junk && echo junk >"${TMPDIR:-/tmp}"/junk && echo "wrote ~/junk and /tmp/junk"' \
    -s 'echo "home now: $(ls -A ~ | tr "\n" " ")  .ssh: $(ls -A ~/.ssh | tr "\n" " ")"' \
    -s "until wget -q -O /dev/null $WEB_URL/release/vandal-1 2>/dev/null; do sleep 0.2; done   # the demo notes the VM"
else
  submit --id vandal-1 --url "$URL_GOOD" --commit "$GOOD" --branch main \
    -s 'rm -v ~/.ssh/authorized_keys    # a file that came with the image: without it nobody can log in' \
    -s 'echo junk >~/junk && echo junk >"${TMPDIR:-/tmp}"/junk && echo "wrote ~/junk and /tmp/junk"' \
    -s "while [ ! -e $RELEASE ]; do sleep 0.1; done   # the demo looks at the VM's disk now"
fi
say "pass-1   main:   sh test.sh                (should pass)"
say "fail-1   broken: sh test.sh                (should fail)"
say "vandal-1 main:   deletes ~/.ssh/authorized_keys, writes junk in HOME and /tmp (should pass, then be undone)"

bold "7/10 agent logs --follow (each job's log, live)"
follow() {
  local id=$1 want=$2 code
  printf -- '--- %s ---\n' "$id"
  set +e
  A logs "$id" --follow
  code=$?
  set -e
  [ "$code" -eq "$want" ] || fail "agent logs $id --follow exited $code, want $want"
  printf -- '--- %s: exit %d, as expected ---\n\n' "$id" "$code"
}
follow pass-1 0
follow fail-1 1

if [ "$PROVIDER" = qemu ]; then
  # What a build can reach: the one listed host service, not the host's Redis beside it. The
  # probes stay inside the guest (its own 127.0.0.1), so no packet leaves this machine.
  submit --id reach-1 --url "$URL_GOOD" --commit "$GOOD" --branch main \
    -s "wget -q -O /dev/null $WEB_URL/calc-main/archive.tar && echo 'repository server: reachable at $WEB_URL (a listed host service)'" \
    -s "if printf 'PING\\r\\n' | nc -w 3 127.0.0.1 $REDIS_PORT 2>/dev/null | grep -q PONG; then echo 'host Redis answered PONG: NOT ISOLATED'; exit 1; fi; echo 'host Redis (127.0.0.1:$REDIS_PORT on the host): no answer from inside the build'"
  say "reach-1  the repository server is reachable from a build, the host's Redis is not (should pass)"
  follow reach-1 0
fi

# Where a job runs, from agent status.
vm_of() {
  A status --json 2>/dev/null | tr -d ' \n' | grep -o '"name":"[^"]*","pool":"ruby","role":"worker"[^}]*"job":{"id":"'"$1"'"' |
    sed 's/^"name":"\([^"]*\)".*/\1/' || true
}

if [ "$PROVIDER" = qemu ]; then
  vm=""
  deadline=$(($(date +%s) + WAIT))
  while [ -z "$vm" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    vm=$(vm_of vandal-1)
    [ -n "$vm" ] || sleep 0.2
  done
  [ -n "$vm" ] || fail "vandal-1 did not start within ${WAIT}s"
  touch "$WEB/release/vandal-1"
  follow vandal-1 0
  bold "8/10 Proof from inside the VMs: vandal-1 damaged $vm; both VMs are checked at once"
  # Each check job waits for the other to start, so one runs on each VM: one of them is the
  # VM vandal-1 damaged. Each needed SSH (i.e. authorized_keys) to start at all.
  for id in check-1 check-2; do
    submit --id "$id" --url "$URL_GOOD" --commit "$GOOD" --branch main \
      -s 'test -s ~/.ssh/authorized_keys && echo "authorized_keys: present"' \
      -s 'test ! -e ~/junk && test ! -e "${TMPDIR:-/tmp}"/junk && echo "junk: none"' \
      -s "until wget -q -O /dev/null $WEB_URL/release/checks 2>/dev/null; do sleep 0.2; done   # both checks run" \
      -s 'sh test.sh'
  done
  c1="" c2=""
  deadline=$(($(date +%s) + WAIT))
  while { [ -z "$c1" ] || [ -z "$c2" ]; } && [ "$(date +%s)" -lt "$deadline" ]; do
    c1=$(vm_of check-1) c2=$(vm_of check-2)
    { [ -n "$c1" ] && [ -n "$c2" ]; } || sleep 0.2
  done
  { [ -n "$c1" ] && [ -n "$c2" ]; } || fail "check-1 and check-2 were not both running within ${WAIT}s"
  [ "$c1" != "$c2" ] || fail "check-1 and check-2 both on $c1"
  touch "$WEB/release/checks"
  say "check-1 runs on $c1, check-2 on $c2:"
  follow check-1 0
  follow check-2 0
  say "both VMs, $vm included, were restored to their 'ready' snapshot: nothing vandal-1 did survived it."
else
  # Where vandal-1 runs, and its damage on that VM's disk while it is still running.
  vm=""
  deadline=$(($(date +%s) + WAIT))
  while [ -z "$vm" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    vm=$(A status --json 2>/dev/null | tr -d ' \n' | grep -o '"name":"[^"]*","pool":"ruby","role":"worker"[^}]*"job":{"id":"vandal-1"' |
      sed 's/^"name":"\([^"]*\)".*/\1/' || true)
    [ -n "$vm" ] || sleep 0.2
  done
  [ -n "$vm" ] || fail "vandal-1 did not start within ${WAIT}s"
  DISK=$VBOXSIM_HOME/machines/$vm/disk
  HOMEDIR=$DISK/home/vagrant
  deadline=$(($(date +%s) + WAIT))
  until [ -e "$HOMEDIR/junk" ] && [ -e "$DISK/tmp/junk" ] && [ ! -e "$HOMEDIR/.ssh/authorized_keys" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "vandal-1's damage never showed on $vm's disk"
    sleep 0.1
  done
  bold "8/10 Proof: $vm's disk while vandal-1 runs, then after the job"
  say "during:  $(ls -A "$HOMEDIR" | tr '\n' ' ')   (no .ssh/authorized_keys, junk in HOME)"
  say "         tmp/: $(ls -A "$DISK/tmp" | tr '\n' ' ')"
  touch "$RELEASE"
  follow vandal-1 0
  deadline=$(($(date +%s) + WAIT))
  until [ -e "$HOMEDIR/.ssh/authorized_keys" ] && [ ! -e "$HOMEDIR/junk" ] && [ ! -e "$DISK/tmp/junk" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$vm was not rolled back within ${WAIT}s: see $DISK"
    sleep 0.1
  done
  [ "$(keys_sum "$vm")" = "${KEYS[$vm]}" ] ||
    fail "$vm's authorized_keys after rollback differs from the image's"
  say "after:   $(ls -A "$HOMEDIR" | tr '\n' ' ')   (.ssh/authorized_keys back, same sha256; no junk)"
  say "         tmp/: $(ls -A "$DISK/tmp" | tr '\n' ' ')"
  say "$vm was restored to its 'ready' snapshot: nothing vandal-1 did survived it."

  submit --id check-1 --url "$URL_GOOD" --commit "$GOOD" --branch main \
    -s 'test -s ~/.ssh/authorized_keys && echo "authorized_keys: present"' \
    -s 'test ! -e ~/junk && test ! -e "${TMPDIR:-/tmp}"/junk && echo "junk: none"' -s 'sh test.sh'
  say "A fourth job checks from inside a VM (it needed SSH, i.e. authorized_keys, to start at all):"
  follow check-1 0
fi

bold "9/10 agent status"
A status || fail "agent status failed"

# ---- drain and stop ---------------------------------------------------------------------------
bold "10/10 agent drain --wait, then stop the agent and clean up"
A drain --wait || fail "agent drain --wait failed"
kill -TERM "$AGENT_PID"
set +e
wait "$AGENT_PID"
code=$?
set -e
AGENT_PID=""
[ "$code" -eq 0 ] || fail "agent run exited $code after SIGTERM, want 0"
say "agent stopped (exit 0); its VMs stay as they are, as on a real host"
set +e
stop_all
set -e
if [ "$PROVIDER" = qemu ]; then
  [ -z "$(qemu_pids)" ] || fail "qemu processes still running after cleanup: $(qemu_pids)"
  say "killed every QEMU VM of this demo, stopped the web server and redis-server: no process of this demo is left"
else
  [ -z "$(guest_pids)" ] || fail "simulated guests still running after cleanup"
  say "powered off every simulated VM, stopped redis-server: no process of this demo is left"
fi

bold "Demo passed in $(elapsed): a pass, a fail, a vandal rolled back, drained, stopped, cleaned up."
if [ "$PROVIDER" = qemu ]; then
  say "The VMs were real QEMU VMs ($ACCEL). FLEET_DEMO_PROVIDER=sim runs the VirtualBox simulator instead."
else
  say "VirtualBox was simulated by bin/vboxsim. On a real host: README.md, \"Quick start on a VirtualBox host\"."
fi
