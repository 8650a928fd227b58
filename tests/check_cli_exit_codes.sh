#!/usr/bin/env bash
# slotlab run's exit statuses as a user sees them: 0 all checks hold, 2 bad scenario file (with a
# message naming the field), 2 bad arguments.
set -u
slotlab=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

"$slotlab" run "$src/scenarios/segfault-master.json" --seed 3 > "$tmp/out" 2>&1
rc=$?
if [ $rc -ne 0 ]; then echo "segfault-master seed 3: exit $rc, expected 0"; cat "$tmp/out"; fail=1; fi
grep -q "PASSED" "$tmp/out" || { echo "no PASSED in the summary"; fail=1; }

"$slotlab" run "$src/scenarios/segfault-master.json" --seed 3 --json > "$tmp/a.json" 2>&1
"$slotlab" run "$src/scenarios/segfault-master.json" --seed 3 --json > "$tmp/b.json" 2>&1
cmp -s "$tmp/a.json" "$tmp/b.json" || { echo "same seed, different JSON"; fail=1; }
/usr/bin/python3 - "$tmp/a.json" <<'PY' || fail=1
import json, sys
j = json.load(open(sys.argv[1]))
assert j["passed"] is True and j["seed"] == 3, j
f = j["failovers"][0]
for k in ("failed_node", "promoted_node", "ms_to_first_pfail", "ms_to_fail", "ms_to_promotion", "ms_to_all_ok"):
    assert f[k] is not None, k
assert all(c["passed"] for c in j["checks"]) and len(j["checks"]) >= 5
PY

cat > "$tmp/bad.json" <<'J'
{"name": "bad", "topology": {"primaries": 3}, "steps": [{"do": "wait-until", "condition": "healthy", "timeout_ms": "soon"}]}
J
"$slotlab" run "$tmp/bad.json" > "$tmp/out" 2>&1
rc=$?
if [ $rc -ne 2 ]; then echo "bad scenario: exit $rc, expected 2"; fail=1; fi
grep -q 'steps\[0\].timeout_ms' "$tmp/out" || { echo "bad scenario message does not name the field:"; cat "$tmp/out"; fail=1; }

echo '{ not json' > "$tmp/broken.json"
"$slotlab" run "$tmp/broken.json" > "$tmp/out" 2>&1
[ $? -eq 2 ] || { echo "broken JSON: expected exit 2"; fail=1; }

"$slotlab" run > /dev/null 2>&1
[ $? -eq 2 ] || { echo "missing argument: expected exit 2"; fail=1; }

# report-swarm: a good file gives a page with the histograms, a bad one exit 2 naming the field.
cat > "$tmp/swarm.json" <<'J'
{"scenario": "segfault-master", "results": [
 {"seed": 1, "outcome": "pass", "failovers": [{"ms_to_promotion": 3100, "ms_to_all_ok": 3150}], "availability": [{"failed_fraction": 0.02, "error_span_ms": 2900}]},
 {"seed": 2, "outcome": "check-failed", "failure": "liveness", "failovers": [{"ms_to_promotion": 4200, "ms_to_all_ok": 4300}]}]}
J
"$slotlab" report-swarm "$tmp/swarm.json" -o "$tmp/swarm" > "$tmp/out" 2>&1 || { echo "report-swarm failed:"; cat "$tmp/out"; fail=1; }
grep -q "id='hist-promotion_ms'" "$tmp/swarm/index.html" 2>/dev/null || { echo "report-swarm: no promotion histogram"; fail=1; }
echo '{"scenario": "x", "results": [{"seed": -1, "outcome": "pass"}]}' > "$tmp/badswarm.json"
"$slotlab" report-swarm "$tmp/badswarm.json" -o "$tmp/swarm2" > "$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q 'results\[0\].seed' "$tmp/out" || { echo "bad swarm file: expected exit 2 naming the field:"; cat "$tmp/out"; fail=1; }

[ $fail -eq 0 ] && echo "slotlab run exit statuses as documented"
exit $fail
