#!/usr/bin/env bash
# How long stock `redis-cli --cluster reshard` takes to move SLOTS slots (with their keys) between
# two primaries of a 3-primary cluster, for any redis-server-compatible binary. Each CLUSTER
# SETSLOT / ADDSLOTS saves nodes.conf; which saves are fsynced (Redis 7.0.15: only epoch changes,
# votes, failovers...) dominates this figure on a disk where fsync is slow.
#
#   bench/reshard_speed.sh [SERVER] [BASE_PORT] [SLOTS] [KEYS] [TRIALS] [DIR]
#
# Defaults: build/daemon/slotlab-node, 21200, 1000 slots, 20000 keys (about 1200 moved), 3 trials,
# a fresh directory under /tmp (pass DIR to put the nodes' files on another filesystem). Prints one
# line per trial: how many slots moved, the keys in the cluster before and after, the milliseconds.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
server=${1:-$here/build/daemon/slotlab-node}
base=${2:-21200}
slots=${3:-1000}
nkeys=${4:-20000}
trials=${5:-3}
root=${6:-}
for t in $(seq 1 "$trials"); do
  if [ -n "$root" ]; then dir=$(mktemp -d "$root/reshard-XXXXXX"); else dir=$(mktemp -d /tmp/slotlab-reshard-XXXXXX); fi
  pids=()
  for i in 0 1 2; do
    p=$((base + i))
    (cd "$dir" && exec "$server" --port $p --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes-$p.conf \
       --cluster-node-timeout 5000 --appendonly no --save "" --dir "$dir" --logfile $p.log --daemonize no) > /dev/null 2>&1 &
    pids+=($!)
  done
  for i in 0 1 2; do
    for k in $(seq 1 50); do redis-cli -p $((base + i)) ping > /dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create 127.0.0.1:$base 127.0.0.1:$((base + 1)) 127.0.0.1:$((base + 2)) --cluster-yes > "$dir/create.log" 2>&1
  for k in $(seq 1 100); do
    redis-cli -p $base cluster info | grep -q cluster_state:ok && break
    sleep 0.1
  done
  redis-benchmark -p $base --cluster -t set -n "$nkeys" -r 100000000 -c 20 -P 16 -q > /dev/null 2>&1 || \
    for i in $(seq 1 "$nkeys"); do echo "SET key:$i $i"; done | redis-cli -c -p $base > /dev/null
  keys_before=$(for i in 0 1 2; do redis-cli -p $((base + i)) dbsize; done | awk '{ s += $1 } END { print s }')
  from=$(redis-cli -p $base cluster myid)
  to=$(redis-cli -p $((base + 1)) cluster myid)
  t0=$(date +%s%3N)
  redis-cli --cluster reshard 127.0.0.1:$base --cluster-from "$from" --cluster-to "$to" --cluster-slots "$slots" \
    --cluster-yes > "$dir/reshard.log" 2>&1
  rc=$?
  t1=$(date +%s%3N)
  moved=$(grep -c '^Moving slot' "$dir/reshard.log")
  keys_after=$(for i in 0 1 2; do redis-cli -p $((base + i)) dbsize; done | awk '{ s += $1 } END { print s }')
  echo "trial $t: $(basename "$server") reshard of $moved slots ($keys_before keys in the cluster, $keys_after after) took $((t1 - t0)) ms (exit $rc)"
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
  { wait; } 2> /dev/null
  rm -rf "$dir"
done
