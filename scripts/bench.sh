#!/usr/bin/env bash
# `make bench`: runs the benchmarks behind the agent's headline figures and prints ONE table:
# figure, value, how it was measured, and whether it depends on the VirtualBox simulator's latency
# profile (vbox/vboxsim/profiles/realistic.profile, every number sourced in VBOX-TIMINGS.md).
# About 5 minutes on 2 cores. Each figure's own command is printed under the table to repeat it.
#
# Figures: plan time at 1,000 workers; VBoxManage calls per idle pass; queue pickup latency
# p50/p99 against Resque's 5-second poll; per-job overhead of both rollback strategies and their
# ratio; reprovisioning a 5-worker pool (one golden image + clones) against provisioning each
# worker; the agent's RSS with 32 idle workers (the real binary on the simulator); Redis
# connections and idle commands per host under the host fetcher; a fleet-scale simulation (N hosts
# x 32 workers against one redis-server).
#
# --json FILE (or BENCH_JSON=FILE) also writes every figure as one JSON object with stable keys
# (numbers in the unit the key names), for checks to read; see "JSON keys" at the end of this file.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JSON=${BENCH_JSON:-}
while [ $# -gt 0 ]; do
  case $1 in
    --json) JSON=${2:?--json needs a file}; shift 2 ;;
    --json=*) JSON=${1#--json=}; shift ;;
    *) echo "usage: scripts/bench.sh [--json FILE]" >&2; exit 2 ;;
  esac
done
case $JSON in "" | /*) ;; *) JSON=$ROOT/$JSON ;; esac
. scripts/lib/redis.sh

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v git >/dev/null 2>&1 || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]} from Debian packages"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

OUT=$(mktemp -d "${TMPDIR:-/tmp}/fleet-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

# bench PKG NAME BENCHTIME: runs one benchmark, keeps its output in $OUT/NAME.txt.
bench() {
  local pkg=$1 name=$2 bt=$3 start=$SECONDS
  printf 'bench: %-28s %s ... ' "$name" "$pkg" >&2
  if ! go test "$pkg" -run '^$' -bench "^$name\$" -benchtime "$bt" -count 1 -timeout 15m >"$OUT/$name.txt" 2>&1; then
    echo "FAILED" >&2
    cat "$OUT/$name.txt" >&2
    exit 1
  fi
  echo "$((SECONDS - start))s" >&2
  echo "  go test $pkg -run '^\$' -bench '^$name\$' -benchtime $bt" >>"$OUT/commands"
}

# metric NAME UNIT [SUB]: the value reported for UNIT on the benchmark line (of sub-benchmark
# SUB when given).
metric() {
  awk -v unit="$2" -v sub_="${3:-}" '
    /^Benchmark/ && (sub_ == "" || index($1, "/" sub_ "-") > 0) {
      for (i = 3; i < NF; i++) if ($(i+1) == unit) { print $i; exit }
    }' "$OUT/$1.txt"
}

int() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.2f ms", ns / 1e6 }'; }

bench ./reconcile BenchmarkDiff1000Workers 200x
bench ./vboxprovider BenchmarkIdlePassCalls 20x
bench ./queue BenchmarkPickupLatency 1x
bench ./queue BenchmarkHostFetcher32Workers 1x
bench ./queue BenchmarkFleetSim 1x # FLEET_SIM_HOSTS=10,100,300 adds 300 hosts
bench ./sandbox BenchmarkRollback 2x
bench ./vboxprovider BenchmarkReprovision5Workers 1x
bench ./agent/internal/web BenchmarkFleetPage100Hosts32Workers 20x
# Real VMs: the QEMU provider under whatever accelerator the host has (TCG here: no KVM).
QEMU=""
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
  QEMU=yes
  bench ./qemu BenchmarkQEMURollback 5x
  bench ./qemu BenchmarkQEMUScale0To4 1x
fi

# ---- the real agent with 32 idle workers on the simulator -------------------------------------
printf 'bench: %-28s %s ... ' "agent RSS, 32 workers" "bin/agent run" >&2
start=$SECONDS
mkdir -p bin
go build -o bin/agent ./agent
go build -o bin/vboxsim ./vbox/vboxsim/cmd/vboxsim
RSS_DIR=$(mktemp -d /var/tmp/fleet-bench-rss.XXXXXX 2>/dev/null || mktemp -d "$OUT/rss.XXXXXX")
export VBOXSIM_HOME=$RSS_DIR/virtualbox
REDIS_PID="" AGENT_PID=""
guest_pids() {
  local p
  for p in /proc/[0-9]*; do
    if tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "VBOXSIM_HOME=$VBOXSIM_HOME"; then
      echo "${p#/proc/}"
    fi
  done
}
stop_rss() {
  set +e
  if [ -n "$AGENT_PID" ]; then kill -KILL "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; fi
  if [ -d "$VBOXSIM_HOME" ]; then
    bin/vboxsim list runningvms 2>/dev/null | sed -n 's/^"\(.*\)" {.*}$/\1/p' | while read -r vm; do
      bin/vboxsim controlvm "$vm" poweroff >/dev/null 2>&1
    done
    local left
    left=$(guest_pids)
    if [ -n "$left" ]; then kill -KILL $left 2>/dev/null; fi
  fi
  if [ -n "$REDIS_PID" ]; then kill -TERM "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; fi
  rm -rf "$RSS_DIR" "$OUT"
}
trap stop_rss EXIT

bin/vboxsim make-box --out "$RSS_DIR/box" --authorized-key examples/demo/vagrant.pub >/dev/null
(cd "$RSS_DIR/box" && tar -czf "$RSS_DIR/box.box" *)
start_private_redis "$RSS_DIR" || { echo "bench: could not start redis-server" >&2; exit 1; }
lo=$((32000 + RANDOM % 7 * 100)) # below the ephemeral range and the test suites' blocks (20000-31999)
cat >"$RSS_DIR/fleet.hcl" <<EOF
host {
  name      = "bench-host"
  state_dir = "$RSS_DIR/state"
}
virtualbox {
  manage         = "$ROOT/bin/vboxsim"
  max_parallel   = 4
  ssh_port_range = [$lo, $((lo + 99))]
}
queue { redis = "redis://127.0.0.1:$REDIS_PORT/0" }
reconcile { resync = "2s" }
box "lucid32" {
  version = "1.0.0"
  url     = "file://$RSS_DIR/box.box"
}
pool "ruby" {
  box    = "lucid32"
  vms    = 32
  memory = 256
}
EOF
bin/agent run -c "$RSS_DIR/fleet.hcl" --log-format text </dev/null >"$RSS_DIR/agent.log" 2>&1 &
AGENT_PID=$!
status() { bin/agent status --json -c "$RSS_DIR/fleet.hcl" 2>/dev/null | tr -d ' \n' || true; }
deadline=$((SECONDS + 300))
until [ "$(status | grep -o '"serving":true' | wc -l)" -ge 32 ]; do
  if [ $SECONDS -gt $deadline ] || ! kill -0 "$AGENT_PID" 2>/dev/null; then
    echo "FAILED: 32 workers not serving within 300s" >&2
    tail -20 "$RSS_DIR/agent.log" >&2
    exit 1
  fi
  sleep 1
done
# Idle: let three more reconcile passes go by with nothing to do, then read VmRSS.
passes() { status | grep -o '"passes":[0-9]*' | head -1 | cut -d: -f2; }
p0=$(passes)
until [ "$(passes)" -ge $((p0 + 3)) ]; do
  if [ $SECONDS -gt $deadline ]; then echo "FAILED: no reconcile passes" >&2; exit 1; fi
  sleep 1
done
RSS_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$AGENT_PID/status")
HWM_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$AGENT_PID/status")
echo "$((SECONDS - start))s" >&2

# ---- the table ---------------------------------------------------------------------------------
lat50=$(metric BenchmarkPickupLatency p50-µs first_queue)
lat99=$(metric BenchmarkPickupLatency p99-µs first_queue)
last50=$(metric BenchmarkPickupLatency p50-µs last_queue)
last99=$(metric BenchmarkPickupLatency p99-µs last_queue)
plain50=$(metric BenchmarkPickupLatency p50-µs last_queue_plain_rpush)
plain99=$(metric BenchmarkPickupLatency p99-µs last_queue_plain_rpush)
conns32=$(metric BenchmarkHostFetcher32Workers conns/host)
idlecmds=$(metric BenchmarkHostFetcher32Workers idle-cmds/s/host)
# The floor of one rollback in the realistic profile: poweroff + restore + start from saved state
# + the guest's network coming back (VBOX-TIMINGS.md).
floor=$(awk '$2 == "=" { v = $3; s = 0
    if (v ~ /ms$/) { s = v; sub(/ms$/, "", s); s /= 1000 } else if (v ~ /s$/) { s = v; sub(/s$/, "", s) }
    t[$1] = s }
  END { printf "%.3f", t["poweroff"] + t["snapshot_restore"] + t["startvm_saved"] + t["resume_network"] }' \
  vbox/vboxsim/profiles/realistic.profile)
ready=$(metric BenchmarkRollback ready-snapshot-s/job)
perjob=$(metric BenchmarkRollback per-job-snapshot-s/job)
ratio=$(metric BenchmarkRollback per-job/ready)
gold=$(metric BenchmarkReprovision5Workers s/reprovision golden+clones)
each=$(metric BenchmarkReprovision5Workers s/reprovision each-worker)

row() { printf '| %s | %s | %s | %s |\n' "$@"; }
echo
echo "fleet agent benchmarks ($(go env GOVERSION), $(nproc) cores, $(date -u +%Y-%m-%d))"
echo
row "figure" "value" "how measured" "simulator profile?"
row "---" "---" "---" "---"
row "plan time, 1,000 workers" \
  "$(ms "$(metric BenchmarkDiff1000Workers ns/op 'empty_host')") empty host; $(ms "$(metric BenchmarkDiff1000Workers ns/op converged)") converged; $(ms "$(metric BenchmarkDiff1000Workers ns/op 'recipes_changed')") recipes changed" \
  "reconcile.Diff over 10 pools x 100 workers, in memory (BenchmarkDiff1000Workers)" "no"
row "dashboard Fleet page, 100 hosts x 32 VMs" \
  "$(ms "$(metric BenchmarkFleetPage100Hosts32Workers ns/op)") per page (goal < 100 ms)" \
  "server side, one pipelined round of reads from a local redis-server, rendered HTML (BenchmarkFleetPage100Hosts32Workers)" "no"
row "VBoxManage calls per idle pass" \
  "$(int "$(metric BenchmarkIdlePassCalls calls/pass)") whatever the number of VMs (cold pass: $(int "$(metric BenchmarkIdlePassCalls calls/cold-pass)"))" \
  "Observe of 50 managed VMs through a counting VBoxManage wrapper (BenchmarkIdlePassCalls)" "no (counts calls)"
row "queue pickup latency p50 / p99" \
  "$(awk -v a="$lat50" -v b="$lat99" -v c="$last50" -v d="$last99" 'BEGIN { printf "first queue %.2f ms / %.2f ms; last of 3 queues %.2f ms / %.2f ms (goal p99 < 20 ms)", a/1000, b/1000, c/1000, d/1000 }'); plain RPUSH $(awk -v a="$plain50" -v b="$plain99" 'BEGIN { printf "%.0f ms / %.0f ms", a/1000, b/1000 }') (Resque's 5 s poll: 2500 ms / 4950 ms)" \
  "agent submit to Fetch return, 1,000 jobs per queue, 4 workers of one pool at the host fetcher, local redis-server; plain RPUSH (no notification) 40 jobs at random points of the 250 ms poll (BenchmarkPickupLatency)" "no"
row "Redis cost per host, 32 idle workers" \
  "$(awk -v a="$conns32" 'BEGIN { printf "%.0f", a }') connections (goal <= 4), $(awk -v a="$idlecmds" 'BEGIN { printf "%.1f", a }') commands/s (goal <= 20)" \
  "CLIENT LIST and INFO commandstats (script-internal calls included) over 3 s, one host's Client, heartbeat running (BenchmarkHostFetcher32Workers)" "no"
for n in 10 100 300; do
  if [ -n "$(metric BenchmarkFleetSim jobs/s "hosts=$n")" ]; then
    m() { metric BenchmarkFleetSim "$1" "hosts=$n"; }
    row "fleet simulation, $n hosts x 32 workers" \
      "$(awk -v n="$n" -v c="$(m conns/host)" -v t="$(m idle-cmds/s)" -v l="$(m loaded-cmds/s)" -v cpu="$(m redis-cpu-%)" 'BEGIN { printf "%.0f connections; %.0f commands/s idle, %.0f loaded; redis-server CPU %.0f%%", c*n, t, l, cpu }'); pickup p50/p99 first $(m p50-ms-first)/$(m p99-ms-first) ms, last $(m p50-ms-last)/$(m p99-ms-last) ms; $(m jobs/s) jobs/s" \
      "one process, one Client per host, fake 2 s jobs submitted at half capacity (at most 300/s) for 5 s (BenchmarkFleetSim); the Go side shares the cores with redis-server" "no"
  fi
done
row "per-job overhead, ready-snapshot" "$(awk -v v="$ready" -v f="$floor" 'BEGIN { printf "%.1f s (floor %.1f s: %.2fx)", v, f, v/f }')" \
  "job end to VM verified ready again: poweroff, restore, start from saved state (BenchmarkRollback)" "yes: realistic"
row "per-job overhead, per-job-snapshot" "$(awk -v v="$perjob" 'BEGIN { printf "%.1f", v }') s ($(awk -v r="$ratio" 'BEGIN { printf "%.2fx", r }') ready-snapshot)" \
  "same, plus the live snapshot taken before each job (BenchmarkRollback)" "yes: realistic"
row "reprovision a 5-worker pool" \
  "$(awk -v v="$gold" 'BEGIN { printf "%.1f", v }') s golden+clones vs $(awk -v v="$each" 'BEGIN { printf "%.1f", v }') s each worker ($(awk -v a="$each" -v b="$gold" 'BEGIN { printf "%.1fx", a/b }')); chef-solo runs $(int "$(metric BenchmarkReprovision5Workers chef-solo-runs golden+clones)") vs $(int "$(metric BenchmarkReprovision5Workers chef-solo-runs each-worker)")" \
  "converge new recipes, max_parallel 2; a chef-solo run is a 2 s sleep (real: ~10 min, so the gap widens) (BenchmarkReprovision5Workers)" "yes: realistic x0.1"
if [ -n "$QEMU" ]; then
  row "per-job overhead, QEMU (real VM)" \
    "$(awk -v v="$(metric BenchmarkQEMURollback s/job loadvm)" 'BEGIN { printf "%.2f", v }') s loadvm (default); $(awk -v v="$(metric BenchmarkQEMURollback s/job overlay)" 'BEGIN { printf "%.2f", v }') s fresh overlay" \
    "job end to SSH answering again on a real tiny Linux guest (BenchmarkQEMURollback); compare with the simulated VirtualBox rows above" "no: real QEMU ($(test -w /dev/kvm && grep -qE 'vmx|svm' /proc/cpuinfo && echo KVM || echo TCG))"
  row "scale 0 -> 4 workers, QEMU" "$(awk -v v="$(metric BenchmarkQEMUScale0To4 s/scale)" 'BEGIN { printf "%.1f", v }') s" \
    "golden already built; 4 overlays resumed from its saved state, SSH-ready (BenchmarkQEMUScale0To4)" "no: real QEMU"
else
  row "QEMU rows" "skipped" "qemu-system-x86_64 not installed (scripts/qemu-deps.sh installs it)" "-"
fi
row "agent RSS, 32 idle workers" "$((RSS_KB / 1024)) MiB (peak $((HWM_KB / 1024)) MiB)" \
  "VmRSS of bin/agent run after 32 workers serve and 3 idle reconcile passes; guests not counted" "no"
echo
echo "Repeat a figure:"
cat "$OUT/commands"
echo "  agent RSS: the last part of scripts/bench.sh (a fleet.hcl of 32 workers on bin/vboxsim)"

# ---- JSON keys ---------------------------------------------------------------------------------
# Every figure above under a stable key; the unit is the key's suffix (_ms, _s, _mib, _per_s,
# _ratio...). A figure a run could not measure (no QEMU, a simulation size left out) is absent.
if [ -n "$JSON" ]; then
  : >"$OUT/figures"
  fig() { [ -z "$2" ] || printf '%s %s\n' "$1" "$2" >>"$OUT/figures"; }
  div() { [ -z "$1" ] || awk -v v="$1" -v d="$2" 'BEGIN { printf "%.4f", v / d }'; }
  fig plan_time_ms_1000_workers_empty_host "$(div "$(metric BenchmarkDiff1000Workers ns/op empty_host)" 1e6)"
  fig plan_time_ms_1000_workers_converged "$(div "$(metric BenchmarkDiff1000Workers ns/op converged)" 1e6)"
  fig plan_time_ms_1000_workers_recipes_changed "$(div "$(metric BenchmarkDiff1000Workers ns/op recipes_changed)" 1e6)"
  fig dashboard_fleet_page_ms_100_hosts "$(div "$(metric BenchmarkFleetPage100Hosts32Workers ns/op)" 1e6)"
  fig vboxmanage_calls_per_idle_pass "$(metric BenchmarkIdlePassCalls calls/pass)"
  fig vboxmanage_calls_per_cold_pass "$(metric BenchmarkIdlePassCalls calls/cold-pass)"
  fig pickup_p50_ms_first_queue "$(div "$lat50" 1000)"
  fig pickup_p99_ms_first_queue "$(div "$lat99" 1000)"
  fig pickup_p50_ms_last_queue "$(div "$last50" 1000)"
  fig pickup_p99_ms_last_queue "$(div "$last99" 1000)"
  fig pickup_p50_ms_plain_rpush "$(div "$plain50" 1000)"
  fig pickup_p99_ms_plain_rpush "$(div "$plain99" 1000)"
  fig redis_connections_per_host_32_workers "$conns32"
  fig redis_idle_commands_per_s_per_host "$idlecmds"
  fig per_job_overhead_ready_s "$ready"
  fig per_job_overhead_floor_s "$floor"
  fig per_job_overhead_ratio_to_floor "$(div "$ready" "$floor")"
  fig per_job_overhead_per_job_snapshot_s "$perjob"
  fig per_job_overhead_per_job_snapshot_to_ready_ratio "$ratio"
  fig reprovision_5_workers_golden_clones_s "$gold"
  fig reprovision_5_workers_each_worker_s "$each"
  fig reprovision_5_workers_chef_solo_runs_golden_clones "$(metric BenchmarkReprovision5Workers chef-solo-runs golden+clones)"
  fig reprovision_5_workers_chef_solo_runs_each_worker "$(metric BenchmarkReprovision5Workers chef-solo-runs each-worker)"
  if [ -n "$QEMU" ]; then
    fig qemu_rollback_loadvm_s "$(metric BenchmarkQEMURollback s/job loadvm)"
    fig qemu_rollback_overlay_s "$(metric BenchmarkQEMURollback s/job overlay)"
    fig qemu_scale_0_to_4_s "$(metric BenchmarkQEMUScale0To4 s/scale)"
  fi
  fig agent_rss_mib_32_idle_workers "$(div "$RSS_KB" 1024)"
  fig agent_rss_peak_mib_32_idle_workers "$(div "$HWM_KB" 1024)"
  for n in 10 100 300; do
    m() { metric BenchmarkFleetSim "$1" "hosts=$n"; }
    [ -n "$(m jobs/s)" ] || continue
    p=fleet_sim_${n}_hosts
    fig "${p}_redis_connections_per_host" "$(m conns/host)"
    fig "${p}_redis_idle_commands_per_s" "$(m idle-cmds/s)"
    fig "${p}_redis_idle_commands_per_s_per_host" "$(m idle-cmds/s/host)"
    fig "${p}_redis_loaded_commands_per_s" "$(m loaded-cmds/s)"
    fig "${p}_redis_cpu_percent" "$(m redis-cpu-%)"
    fig "${p}_pickup_p50_ms_first_queue" "$(m p50-ms-first)"
    fig "${p}_pickup_p99_ms_first_queue" "$(m p99-ms-first)"
    fig "${p}_pickup_p50_ms_last_queue" "$(m p50-ms-last)"
    fig "${p}_pickup_p99_ms_last_queue" "$(m p99-ms-last)"
    fig "${p}_jobs_per_s" "$(m jobs/s)"
  done
  awk -v go="$(go env GOVERSION)" -v cores="$(nproc)" -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
    BEGIN { printf "{\n  \"go_version\": \"%s\",\n  \"cores\": %d,\n  \"date\": \"%s\"", go, cores, date }
    { printf ",\n  \"%s\": %s", $1, $2 + 0 }
    END { print "\n}" }' "$OUT/figures" >"$JSON"
  echo "bench: figures written to $JSON" >&2
fi
