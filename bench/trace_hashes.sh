#!/bin/sh
# Prints "scenario seed trace_hash" for a fixed set of runs (issue 7): record it before an
# optimisation of the simulator or the node and compare after; every line must stay the same.
#   bench/trace_hashes.sh [BUILD_DIR] > before.txt ... bench/trace_hashes.sh > after.txt; diff before.txt after.txt
set -eu
B=${1:-build}
S=$(cd "$(dirname "$0")/.." && pwd)
hash_of() { sed -n 's/.*"trace_hash": *"\([0-9a-f]*\)".*/\1/p' | head -1; }
for seed in $(seq 1 20); do
  echo "segfault-master $seed $("$B/harness/slotlab" run "$S/scenarios/segfault-master.json" --seed "$seed" --json | hash_of)"
done
for seed in 1 2 3; do
  echo "seed-walkthrough $seed $("$B/harness/slotlab" run "$S/scenarios/seed-walkthrough.json" --seed "$seed" --json | hash_of)"
done
for seed in 1 2; do
  echo "partition-minority-primary $seed $("$B/harness/slotlab" run "$S/scenarios/partition-minority-primary.json" --seed "$seed" --json | hash_of)"
done
for n in 6 30 100; do
  echo "idle-$n-nodes-20s-fullhash 1 $("$B/bench/sim_scale" idle --nodes "$n" --seconds 20 --full-hash | hash_of)"
  echo "idle-$n-nodes-20s 1 $("$B/bench/sim_scale" idle --nodes "$n" --seconds 20 | hash_of)"
done
echo "idle-6-nodes-timeout2000-60s 3 $("$B/bench/sim_scale" idle --nodes 6 --node-timeout 2000 --seconds 60 --seed 3 | hash_of)"
echo "failover-60-nodes-fullhash 1 $("$B/bench/sim_scale" failover --nodes 60 --node-timeout 5000 --full-hash | hash_of)"
