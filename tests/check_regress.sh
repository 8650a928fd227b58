#!/usr/bin/env bash
# slotlab regress: passes against the committed baselines (reports/baselines), fails — naming the
# stage, old and new side by side — against a baseline whose figures are shifted by 20%, and
# passes against one shifted by 5% (inside the 10% tolerance).
set -u
slotlab=$(realpath "$1")
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

"$slotlab" regress --baselines "$src/reports/baselines" --jobs 2 > "$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] || { echo "regress against the committed baselines: exit $rc, expected 0"; cat "$tmp/out"; fail=1; }
grep -q "within tolerance" "$tmp/out" || { echo "no verdict line"; cat "$tmp/out"; fail=1; }

shift_baseline() {  # $1 factor, $2 output dir
  mkdir -p "$2/reports/baselines"
  /usr/bin/python3 - "$src/reports/baselines/segfault-master.json" "$1" "$2/reports/baselines/segfault-master.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); f = float(sys.argv[2])
assert b["metrics"], "the committed baseline has no figures"
for m in b["metrics"].values():
    m["p50"] = round(m["p50"] * f); m["p90"] = round(m["p90"] * f)
json.dump(b, open(sys.argv[3], "w"), indent=2)
PY
}
shift_baseline 1.2 "$tmp/slow"
"$slotlab" regress --baselines "$tmp/slow/reports/baselines" --root "$src" --jobs 2 > "$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] || { echo "regress against a baseline shifted by 20%: exit $rc, expected 1"; cat "$tmp/out"; fail=1; }
grep -q "fault -> promotion (ms).*p50.*REGRESSION" "$tmp/out" || { echo "the shifted promotion median is not reported:"; cat "$tmp/out"; fail=1; }
shift_baseline 1.05 "$tmp/near"
"$slotlab" regress --baselines "$tmp/near/reports/baselines" --root "$src" --jobs 2 > "$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] || { echo "regress against a baseline shifted by 5%: exit $rc, expected 0 (within 10%)"; cat "$tmp/out"; fail=1; }
"$slotlab" regress --baselines "$tmp/nothing-here" > "$tmp/out" 2>&1
[ $? -eq 2 ] || { echo "a missing baselines directory should exit 2"; fail=1; }

[ $fail -eq 0 ] && echo "slotlab regress passes on the baselines and catches a 20% shift"
exit $fail
