# Sourced by scripts/demo.sh and scripts/bench.sh: a private redis-server for one run.
#
# start_private_redis DIR starts redis-server on a free 127.0.0.1 port with no persistence, its
# files in DIR, and sets REDIS_PORT and REDIS_PID; it returns 1 when no port worked. The caller
# stops it (kill "$REDIS_PID").
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_private_redis() {
  local dir=$1 p
  REDIS_PORT="" REDIS_PID=""
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 9000))
    port_free "$p" || continue
    redis-server --bind 127.0.0.1 --port "$p" --save "" --appendonly no --dir "$dir" \
      --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 50); do
      if redis-cli -p "$p" ping 2>/dev/null | grep -q PONG; then REDIS_PORT=$p; return 0; fi
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=""
  done
  return 1
}
