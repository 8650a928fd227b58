#!/usr/bin/env bash
# slotlab swarm / swarm-merge / shrink as a user runs them, on a scenario that fails for some seeds
# (tests/data/tight-failover-deadline.json): failing seeds are listed with a reproduce command that
# really reproduces them (same params, same trace hash); a swarm split into shards and merged prints
# the same table and the same per-seed results as the unsharded swarm; shrink writes a smaller
# concrete scenario that still fails the same way; bad params are refused with the field named.
set -u
slotlab=$(realpath "$1")
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
sc="$src/tests/data/tight-failover-deadline.json"
py=/usr/bin/python3

"$slotlab" swarm "$sc" --seeds 1..12 --jobs 2 --json "$tmp/full.json" > "$tmp/full.txt" 2> "$tmp/full.err"
rc=$?
[ $rc -eq 1 ] || { echo "swarm with failing seeds: exit $rc, expected 1"; cat "$tmp/full.txt" "$tmp/full.err"; fail=1; }
grep -q "step failed" "$tmp/full.txt" || { echo "no outcome table"; fail=1; }
grep -q "fault -> promotion (ms)" "$tmp/full.txt" || { echo "no promotion percentiles"; fail=1; }

# Every failing seed's reproduce command reproduces it: exit 1, the same params and trace hash.
$py - "$tmp/full.json" "$tmp/full.txt" "$sc" > "$tmp/failing" <<'PY' || fail=1
import json, sys
j = json.load(open(sys.argv[1])); txt = open(sys.argv[2]).read()
assert j["format"] == "slotlab-swarm-1" and j["seeds"] == {"first": 1, "last": 12}, j["seeds"]
seeds = [r["seed"] for r in j["results"]]
assert seeds == list(range(1, 13)), seeds
failing = [r for r in j["results"] if r["outcome"] != "pass"]
assert failing, "expected some seeds of tight-failover-deadline to fail"
assert any(r["outcome"] == "pass" for r in j["results"]), "expected some seeds to pass"
for r in failing:
    cmd = "slotlab run %s --seed %d" % (sys.argv[3], r["seed"])
    assert cmd in txt, cmd
    print(r["seed"], r["trace_hash"], json.dumps(r["params"], sort_keys=True))
for r in j["results"]:
    assert r["trace_hash"] and set(r["params"]) == {"deadline_ms", "pause_ms", "idle_ms", "victim"}, r
    if r["outcome"] == "pass":
        assert r["promotion_ms"] is not None and r["failovers"][0]["ms_to_promotion"] == r["promotion_ms"]
assert j["summary"]["outcomes"]["pass"] + j["summary"]["outcomes"]["step-failed"] == 12
PY
while read -r seed hash params; do
  "$slotlab" run "$sc" --seed "$seed" --json > "$tmp/run.json"
  rc=$?
  [ $rc -eq 1 ] || { echo "reproduce seed $seed: exit $rc, expected 1"; fail=1; }
  $py - "$tmp/run.json" "$hash" "$params" <<'PY' || { echo "seed $seed does not reproduce"; fail=1; }
import json, sys
j = json.load(open(sys.argv[1]))
assert j["trace_hash"] == sys.argv[2], (j["trace_hash"], sys.argv[2])
assert json.dumps(j["params"], sort_keys=True) == sys.argv[3], (j["params"], sys.argv[3])
PY
  first_failing=${first_failing:-$seed}
done < "$tmp/failing"

# Shards 0/3, 1/3, 2/3 merged: the same table and the same results as the unsharded swarm.
for i in 0 1 2; do
  "$slotlab" swarm "$sc" --seeds 1..12 --jobs 2 --shard $i/3 --json "$tmp/shard$i.json" > /dev/null 2>&1
done
"$slotlab" swarm-merge "$tmp/shard2.json" "$tmp/shard0.json" "$tmp/shard1.json" --json "$tmp/merged.json" > "$tmp/merged.txt"
rc=$?
[ $rc -eq 1 ] || { echo "swarm-merge: exit $rc, expected 1 (failing seeds)"; fail=1; }
grep -v '^wall-clock' "$tmp/full.txt" > "$tmp/a"
grep -v '^wall-clock' "$tmp/merged.txt" > "$tmp/b"
if ! cmp -s "$tmp/a" "$tmp/b"; then echo "sharded+merged summary differs from the unsharded one:"; diff "$tmp/a" "$tmp/b"; fail=1; fi
$py - "$tmp/full.json" "$tmp/merged.json" "$tmp/shard1.json" <<'PY' || { echo "merged results differ"; fail=1; }
import json, sys
def strip(j):
    for r in j["results"]: r.pop("wall_time_ms")
    return j["results"], j["summary"]
a, b, s1 = (json.load(open(p)) for p in sys.argv[1:])
assert strip(a) == strip(b)
assert [r["seed"] for r in s1["results"]] == [2, 5, 8, 11], [r["seed"] for r in s1["results"]]
PY
"$slotlab" swarm-merge "$tmp/shard0.json" "$tmp/shard1.json" > "$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q "2/3" "$tmp/out" || { echo "merge with a missing shard not refused:"; cat "$tmp/out"; fail=1; }
"$slotlab" swarm-merge "$tmp/shard0.json" "$tmp/shard0.json" "$tmp/shard1.json" > "$tmp/out" 2>&1
[ $? -eq 2 ] || { echo "merge with a shard given twice not refused"; fail=1; }

# Shrink the first failing seed: a smaller concrete scenario that fails at the deadline step.
seed=${first_failing:-0}
(cd "$tmp" && "$slotlab" shrink "$sc" --seed "$seed" -o min.json > shrink.txt 2> shrink.err)
rc=$?
[ $rc -eq 0 ] || { echo "shrink seed $seed: exit $rc"; cat "$tmp/shrink.txt" "$tmp/shrink.err"; fail=1; }
"$slotlab" run "$tmp/min.json" --seed "$seed" > "$tmp/out"
[ $? -eq 1 ] || { echo "the shrunk scenario does not fail"; fail=1; }
$py - "$tmp/min.json" "$sc" <<'PY' || { echo "shrunk scenario is not minimal:"; cat "$tmp/shrink.txt"; fail=1; }
import json, sys
m, o = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert "params" not in m
acts = [s["do"] for s in m["steps"]]
for gone in ("pause", "resume", "partition", "heal", "sleep"):
    assert gone not in acts, (gone, acts)
assert "kill" in acts and len(acts) < len(o["steps"]), acts
deadline = [s for s in m["steps"] if s.get("label") == "the deadline"]
assert deadline and deadline[0]["timeout_ms"] == 1, deadline
PY
grep -q "deadline_ms: .* -> 1" "$tmp/shrink.txt" || { echo "shrink does not report the parameter it reduced"; cat "$tmp/shrink.txt"; fail=1; }
pass_seed=$($py -c "import json,sys; print([r['seed'] for r in json.load(open(sys.argv[1]))['results'] if r['outcome']=='pass'][0])" "$tmp/full.json")
(cd "$tmp" && "$slotlab" shrink "$sc" --seed "$pass_seed" > out 2>&1)
[ $? -eq 1 ] || { echo "shrink of a passing seed should exit 1"; fail=1; }

# Bad params: the offending field is named and nothing runs.
cat > "$tmp/bad1.json" <<'J'
{"name": "b", "params": {"t": {"min": 10, "max": 5}}, "topology": {"primaries": 3}, "steps": [{"do": "sleep", "duration_ms": "$t"}]}
J
cat > "$tmp/bad2.json" <<'J'
{"name": "b", "params": {"t": {"min": 1, "max": 5}}, "topology": {"primaries": 3}, "steps": [{"do": "sleep", "duration_ms": "$tt"}]}
J
cat > "$tmp/bad3.json" <<'J'
{"name": "b", "params": {"who": {"choices": ["n1", "n9"]}}, "topology": {"primaries": 3}, "steps": [{"do": "kill", "node": "$who"}]}
J
"$slotlab" swarm "$tmp/bad1.json" --seeds 1..3 > "$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q 'params.t.max' "$tmp/out" || { echo "max < min not refused by field:"; cat "$tmp/out"; fail=1; }
"$slotlab" run "$tmp/bad2.json" > "$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q 'steps\[0\].duration_ms.*tt' "$tmp/out" || { echo "undefined parameter not refused by field:"; cat "$tmp/out"; fail=1; }
"$slotlab" swarm "$tmp/bad3.json" --seeds 1..20 > "$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q 'n9.*seed' "$tmp/out" || { echo "a seed's invalid choice not refused:"; cat "$tmp/out"; fail=1; }
"$slotlab" swarm "$sc" --seeds 5..2 > /dev/null 2>&1
[ $? -eq 2 ] || { echo "--seeds 5..2 not refused"; fail=1; }
"$slotlab" swarm "$sc" --seeds 1..2 --shard 3/3 > /dev/null 2>&1
[ $? -eq 2 ] || { echo "--shard 3/3 not refused"; fail=1; }

# A run that exceeds the per-seed wall-clock limit is killed and reported, not waited for.
cat > "$tmp/long.json" <<'J'
{"name": "long", "topology": {"primaries": 3}, "steps": [{"do": "create"}, {"do": "sleep", "duration_ms": 86400000}]}
J
"$slotlab" swarm "$tmp/long.json" --seeds 1..1 --timeout 1 > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "crashed *1" "$tmp/out" && grep -q "time limit" "$tmp/out" || { echo "--timeout did not stop a long run:"; cat "$tmp/out"; fail=1; }

[ $fail -eq 0 ] && echo "swarm, shard+merge, shrink and params behave as documented"
exit $fail
