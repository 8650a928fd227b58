#!/usr/bin/env bash
# Determinism across processes: a sample of seeds of several scenarios, each seed run twice in
# separate processes (two swarms; every seed of a swarm runs in its own child process), must give
# identical trace hashes — and different seeds different ones, so the hash is not a constant.
set -u
slotlab=$(realpath "$1")
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for spec in segfault-master:1..4 paused-primary-returns:1..3 partition-minority-primary:1..3 random-faults:1..4 reshard-under-load:1..1; do
  name=${spec%%:*}
  seeds=${spec#*:}
  for run in a b; do
    "$slotlab" swarm "$src/scenarios/$name.json" --seeds "$seeds" --jobs 2 --json "$tmp/$name.$run.json" > /dev/null 2>&1
  done
  /usr/bin/python3 - "$tmp/$name.a.json" "$tmp/$name.b.json" "$name" <<'PY' || fail=1
import json, sys
a, b = (json.load(open(p))["results"] for p in sys.argv[1:3])
name = sys.argv[3]
bad = [(x["seed"], x["trace_hash"], y["trace_hash"]) for x, y in zip(a, b) if x["trace_hash"] != y["trace_hash"] or not x["trace_hash"]]
if bad or len(a) != len(b):
    print("%s: trace hashes differ between two runs of the same seed (seed, first, second): %s" % (name, bad))
    print("reproduce: slotlab run scenarios/%s.json --seed N --json (twice) and compare" % name)
    sys.exit(1)
if len(a) > 1 and len({x["trace_hash"] for x in a}) == 1:
    print("%s: every seed gave the same trace hash" % name); sys.exit(1)
print("%s: %d seeds, identical trace hashes in two processes" % (name, len(a)))
PY
done
exit $fail
