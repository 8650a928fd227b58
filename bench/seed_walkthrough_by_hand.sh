#!/usr/bin/env bash
# The seed article's walkthrough (/work/shared/seed/redis-cluster-walkthrough.txt), done the way an
# operator does it: `slotlab launch` for the 3+3 cluster, then only stock tools — redis-cli
# --cluster check / reshard / add-node / add-node --cluster-slave / del-node, redis-cli for
# CLUSTER FAILOVER and DEBUG SEGFAULT, the crashed primary restarted by hand after its replica
# took over — with 2000 keys written at the start and read back after every step.
#
#   bench/seed_walkthrough_by_hand.sh [--server PATH] [--base-port P] [--slotlab PATH]
#
# SERVER defaults to the slotlab-node built beside `slotlab`; pass /usr/bin/redis-server for the
# control. Ports P..P+7 and their bus ports (+10000) must be free (default P = 21100). Exits 0 only
# if every step worked and every key read back intact; prints what it did as it goes.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
slotlab=$here/build/harness/slotlab
server=""
base=21100
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server=$2; shift 2 ;;
    --base-port) base=$2; shift 2 ;;
    --slotlab) slotlab=$2; shift 2 ;;
    *) echo "usage: $0 [--server PATH] [--base-port P] [--slotlab PATH]" >&2; exit 2 ;;
  esac
done
[ -n "$server" ] || server=$(dirname "$slotlab")/../daemon/slotlab-node
server=$(cd "$(dirname "$server")" && pwd)/$(basename "$server")  # not readlink: redis-server is a symlink
work=$(mktemp -d /tmp/slotlab-seed-walk-XXXXXX)
dir=$work/cluster
spare_pids=()
restarted_pid=""
NKEYS=2000

step() { printf '\n=== %s\n' "$*"; }
die() {
  printf '\nFAILED: %s\n(logs kept in %s)\n' "$*" "$work"
  cleanup
  exit 1
}
cleanup() {
  "$slotlab" launch --stop --dir "$dir" > /dev/null 2>&1
  for p in "${spare_pids[@]}" $restarted_pid; do kill -9 "$p" 2> /dev/null; done
  { wait; } 2> /dev/null
}
cli() { local port=$1; shift; redis-cli -p "$port" "$@"; }
check() {  # redis-cli --cluster check, must be clean
  local out
  out=$(redis-cli --cluster check 127.0.0.1:"$1" 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
  echo "$out" | grep -E '^(M|S):|slots:|\[OK\]|\[ERR\]|\[WARNING\]' | sed 's/^/    /'
  echo "$out" | grep -q '\[OK\] All 16384 slots covered.' || die "check via $1 is not clean"
  echo "$out" | grep -q '\[ERR\]' && die "check via $1 reports errors"
  return 0
}
keys_ok() {  # every key reads back its value through redis-cli -c
  local port=$1 got
  got=$(for i in $(seq 1 $NKEYS); do echo "GET key:$i"; done | redis-cli -c -p "$port" 2>&1 | grep -c '^v[0-9]*$')
  [ "$got" -eq "$NKEYS" ] || die "only $got of $NKEYS keys read back via $port"
  echo "    keys: all $NKEYS read back via 127.0.0.1:$port"
}
id_of() { cli "$1" cluster myid; }
primary_of_slot() {  # port of the primary serving slot $2, as node $1 sees it
  cli "$1" cluster nodes | awk -v s="$2" '$3 ~ /master/ && $3 !~ /fail/ {
      for (i = 9; i <= NF; i++) { split($i, r, "-"); if (r[2] == "") r[2] = r[1];
        if (s >= r[1] && s <= r[2]) { split($2, a, "[:@]"); print a[2] } } }'
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  local t0; t0=$(date +%s%3N)
  while ! "$@" > /dev/null 2>&1; do
    [ $(( $(date +%s%3N) - t0 )) -gt $((secs * 1000)) ] && die "timed out after ${secs}s waiting for $what"
    sleep 0.1
  done
  echo "    ($what after $(( $(date +%s%3N) - t0 )) ms)"
}
state_ok() { cli "$1" cluster info | grep -q cluster_state:ok; }
all_ok() { local p; for p in "$@"; do state_ok "$p" || return 1; done; }
is_replica() { cli "$1" info replication | grep -q '^role:slave'; }
link_up() { cli "$1" info replication | grep -q 'master_link_status:up'; }

step "slotlab launch --masters 3 --replicas 1 ($server)"
"$slotlab" launch --masters 3 --replicas 1 --base-port "$base" --server "$server" --dir "$dir" | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "launch failed"
ports=($(seq "$base" $((base + 5))))
check "$base"

step "write $NKEYS keys with redis-cli -c"
for i in $(seq 1 $NKEYS); do echo "SET key:$i v$i"; done | redis-cli -c -p "$base" > "$work/set.out" 2>&1
[ "$(grep -c '^OK$' "$work/set.out")" -eq $NKEYS ] || die "not every SET answered OK"
keys_ok "$base"

step "reshard 1000 slots from the first primary to the second"
p1=$(primary_of_slot "$base" 0); p2=$(primary_of_slot "$base" 8000)
t0=$(date +%s%3N)
redis-cli --cluster reshard 127.0.0.1:"$base" --cluster-from "$(id_of "$p1")" --cluster-to "$(id_of "$p2")" \
  --cluster-slots 1000 --cluster-yes > "$work/reshard1.out" 2>&1 || die "reshard failed"
echo "    $(grep -c '^Moving slot' "$work/reshard1.out") slots moved in $(( $(date +%s%3N) - t0 )) ms"
check "$base"
keys_ok "$base"

step "start two empty nodes; add-node the first as a primary"
for k in 6 7; do
  p=$((base + k)); d=$work/spare$k; mkdir -p "$d"
  (cd "$d" && exec setsid "$server" --port $p --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
     --cluster-node-timeout 2000 --dir "$d" --logfile node.log --save "" --appendonly no \
     --enable-debug-command yes --daemonize no) > /dev/null 2>&1 &
  spare_pids+=($!)
done
answers() { local p; for p in "$@"; do [ "$(cli "$p" ping 2>/dev/null)" = PONG ] || return 1; done; }
wait_for 10 "the new nodes to answer" answers $((base + 6)) $((base + 7))
redis-cli --cluster add-node 127.0.0.1:$((base + 6)) 127.0.0.1:"$base" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -E '^>>>|\[OK\]|\[ERR\]' | sed 's/^/    /'
known_everywhere() { local p; for p in "${ports[@]}"; do cli "$p" cluster nodes | grep -q "127.0.0.1:$1@" || return 1; done; }
wait_for 20 "the new primary to be known everywhere" known_everywhere $((base + 6))
step "reshard 500 slots from all primaries to the new one"
redis-cli --cluster reshard 127.0.0.1:"$base" --cluster-from all --cluster-to "$(id_of $((base + 6)))" \
  --cluster-slots 500 --cluster-yes > "$work/reshard2.out" 2>&1 || die "reshard to the new node failed"
echo "    $(grep -c '^Moving slot' "$work/reshard2.out") slots moved"
check "$base"
keys_ok "$base"

step "add-node --cluster-slave: the second new node replicates the first"
redis-cli --cluster add-node 127.0.0.1:$((base + 7)) 127.0.0.1:"$base" --cluster-slave \
  --cluster-master-id "$(id_of $((base + 6)))" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -E '^>>>|\[OK\]|\[ERR\]' | sed 's/^/    /'
wait_for 30 "the new replica's link to be up" link_up $((base + 7))
check "$base"

step "remove the new primary: reshard its slots away, then del-node its replica and it"
n=$(cli $((base + 6)) cluster nodes | awk '/myself/ { n = 0; for (i = 9; i <= NF; i++) { split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n }')
redis-cli --cluster reshard 127.0.0.1:"$base" --cluster-from "$(id_of $((base + 6)))" --cluster-to "$(id_of "$p1")" \
  --cluster-slots "$n" --cluster-yes > "$work/reshard3.out" 2>&1 || die "reshard off the new node failed"
echo "    $(grep -c '^Moving slot' "$work/reshard3.out") slots moved back"
keys_ok "$base"
for k in 6 7; do
  redis-cli --cluster del-node 127.0.0.1:"$base" "$(id_of $((base + k)))" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | sed 's/^/    /'
done
# redis-cli 7 resets a deleted node (CLUSTER RESET SOFT) instead of shutting it down (redis-trib did).
forgotten() {
  local p
  for p in "${ports[@]}"; do cli "$p" cluster nodes | grep -qE "127.0.0.1:($((base + 6))|$((base + 7)))@" && return 1; done
  for p in $((base + 6)) $((base + 7)); do cli "$p" cluster info | grep -q cluster_known_nodes:1 || return 1; done
}
wait_for 15 "the removed nodes to be forgotten and reset" forgotten
sleep 1
check "$base"
keys_ok "$base"

step "CLUSTER FAILOVER on a replica"
rep=""
for p in "${ports[@]}"; do is_replica "$p" && { rep=$p; break; }; done
[ -n "$rep" ] || die "no replica found"
old=$(cli "$rep" info replication | awk -F: '/^master_port/ { print $2 }' | tr -d '\r')
echo "    127.0.0.1:$rep (replica of 127.0.0.1:$old): $(cli "$rep" cluster failover)"
is_primary() { cli "$1" info replication | grep -q '^role:master'; }
wait_for 20 "127.0.0.1:$rep to be a primary" is_primary "$rep"
wait_for 20 "the old primary 127.0.0.1:$old to be its replica" is_replica "$old"
wait_for 20 "cluster_state:ok everywhere" all_ok "${ports[@]}"
check "$base"
keys_ok "$base"

step "DEBUG SEGFAULT the primary of slot 0"
victim=$(primary_of_slot "$base" 0)
other=$base; [ "$victim" = "$base" ] && other=$((base + 1))
vdir=$dir/n$((victim - base + 1))
# slotlab launch's arguments for that node (RealWorld::start); redis-server rewrites its
# /proc/PID/cmdline, so it cannot be read back from there.
vargs=("$server" --port "$victim" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf
       --dir "$vdir" --logfile node.log --loglevel notice --daemonize no --enable-debug-command yes --save "")
t0=$(date +%s%3N)
cli "$victim" debug segfault 2>&1 | sed 's/^/    /'
slot0_moved() { local p; p=$(primary_of_slot "$other" 0); [ -n "$p" ] && [ "$p" != "$victim" ]; }
wait_for 30 "a replica to take slot 0 over" slot0_moved
echo "    promotion seen $(( $(date +%s%3N) - t0 )) ms after DEBUG SEGFAULT; slot 0 now on 127.0.0.1:$(primary_of_slot "$other" 0)"
alive=(); for p in "${ports[@]}"; do [ "$p" != "$victim" ] && alive+=("$p"); done
wait_for 30 "cluster_state:ok on the survivors" all_ok "${alive[@]}"
keys_ok "$other"

step "restart the crashed node in its directory, with its command line"
(cd "$vdir" && exec setsid "${vargs[@]}") > /dev/null 2>&1 &
restarted_pid=$!
wait_for 20 "127.0.0.1:$victim to answer" cli "$victim" ping
wait_for 30 "127.0.0.1:$victim to rejoin as a replica" is_replica "$victim"
wait_for 30 "its replication link to be up" link_up "$victim"
wait_for 30 "cluster_state:ok everywhere" all_ok "${ports[@]}"
check "$base"
keys_ok "$base"

step "done: every step worked and all $NKEYS keys survived"
cleanup
rm -rf "$work"
exit 0
