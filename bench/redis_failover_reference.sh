#!/usr/bin/env bash
# The reference figure for segfault-master: Debian's redis-server 7.0.15, 3 primaries + 3
# replicas on loopback, cluster-node-timeout 2000 (utils/create-cluster's settings), created with
# redis-cli --cluster create, replicas in sync; then DEBUG SEGFAULT to the primary of slot 0 and
# the time until a replica logs "Failover election won" (its promotion).
#
#   bench/redis_failover_reference.sh [TRIALS] [BASE_PORT] [SERVER]
#
# Prints one line per trial and the median / p10 / p90 / min / max in milliseconds.
# SERVER defaults to /usr/bin/redis-server; any redis-server-compatible binary works.
set -u
trials=${1:-20}
base=${2:-31000}
server=${3:-/usr/bin/redis-server}
results=()
for t in $(seq 1 "$trials"); do
  dir=$(mktemp -d)
  pids=()
  for i in 1 2 3 4 5 6; do
    p=$((base + i))
    (cd "$dir" && exec "$server" --port $p --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes-$p.conf \
       --cluster-node-timeout 2000 --appendonly yes --appendfilename appendonly-$p.aof --dbfilename dump-$p.rdb \
       --logfile $p.log --enable-debug-command yes --save "" --daemonize no) > /dev/null 2>&1 &
    pids+=($!)
  done
  for i in 1 2 3 4 5 6; do
    for k in $(seq 1 50); do redis-cli -p $((base + i)) ping > /dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create $(for i in 1 2 3 4 5 6; do echo 127.0.0.1:$((base + i)); done) \
    --cluster-replicas 1 --cluster-yes > "$dir/create.log" 2>&1
  for k in $(seq 1 200); do
    up=0
    for i in 1 2 3 4 5 6; do
      redis-cli -p $((base + i)) info replication 2>/dev/null | grep -q master_link_status:up && up=$((up + 1))
    done
    [ $up -eq 3 ] && break
    sleep 0.1
  done
  sleep 2
  victim=""
  for i in 1 2 3 4 5 6; do
    line=$(redis-cli -p $((base + i)) cluster nodes 2>/dev/null | grep myself)
    case "$line" in *master*" 0-"*) victim=$((base + i)) ;; esac
  done
  t0=$(date +%s%3N)
  redis-cli -p "$victim" debug segfault > /dev/null 2>&1
  while ! grep -q "Failover election won" "$dir"/*.log 2>/dev/null; do
    now=$(date +%s%3N)
    [ $((now - t0)) -gt 60000 ] && break
    sleep 0.005
  done
  t1=$(date +%s%3N)
  ms=$((t1 - t0))
  echo "trial $t: victim $victim promotion after $ms ms"
  results+=("$ms")
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
  wait 2> /dev/null
  rm -rf "$dir"
done
printf '%s\n' "${results[@]}" | sort -n | awk '
  { v[NR] = $1 }
  END {
    n = NR; if (n == 0) exit 1
    med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    p10 = v[int(0.1 * (n - 1)) + 1]; p90 = v[int(0.9 * (n - 1)) + 1]
    printf "trials %d: median %d ms, p10 %d, p90 %d, min %d, max %d\n", n, med, p10, p90, v[1], v[n]
  }'
