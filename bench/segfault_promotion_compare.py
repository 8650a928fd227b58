#!/usr/bin/python3
"""segfault-master's promotion time (DEBUG SEGFAULT -> the replica's promotion) in the three worlds,
side by side: the simulator over seeds 1..S, and N real runs each against slotlab-node and
Debian's redis-server (`slotlab run scenarios/segfault-master.json --world real [--server ...]`).

    bench/segfault_promotion_compare.py [--slotlab PATH] [--sim-seeds S] [--real-runs N]
                                        [--base-port P] [--redis-server PATH]

Prints, per world, how many runs passed and the promotion time's median / p10 / p90 / min / max,
and the medians' ratios to the simulator's. Real runs take ~30 s each and want an idle machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def run(slotlab, args):
    r = subprocess.run([slotlab, "run", os.path.join(REPO, "scenarios", "segfault-master.json"), "--json"] + args,
                       capture_output=True, text=True, timeout=600)
    try:
        doc = json.loads(r.stdout)
    except json.JSONDecodeError:
        return None, f"exit {r.returncode}: {r.stderr.strip()[:200]}"
    fos = doc.get("failovers") or []
    ms = fos[0].get("ms_to_promotion") if fos else None
    return (ms if doc.get("passed") else None), ("" if doc.get("passed") else doc.get("failure", "failed"))


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


def summary(name, values, runs, ref=None):
    if not values:
        return f"{name:<22} 0/{runs} passed"
    med = statistics.median(values)
    s = (f"{name:<22} {len(values)}/{runs} passed  median {med:7.0f} ms  p10 {pct(values, 0.1):6.0f}  "
         f"p90 {pct(values, 0.9):6.0f}  min {min(values):6.0f}  max {max(values):6.0f}")
    if ref:
        s += f"  median/sim {med / ref:.2f}"
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slotlab", default=os.path.join(REPO, "build", "harness", "slotlab"))
    ap.add_argument("--sim-seeds", type=int, default=20)
    ap.add_argument("--real-runs", type=int, default=10)
    ap.add_argument("--base-port", type=int, default=21300)
    ap.add_argument("--redis-server", default="/usr/bin/redis-server")
    a = ap.parse_args()
    sim = []
    for seed in range(1, a.sim_seeds + 1):
        ms, why = run(a.slotlab, ["--seed", str(seed)])
        if ms is not None:
            sim.append(ms)
        else:
            print(f"sim seed {seed}: {why}", file=sys.stderr)
    real = {}
    for name, extra in [("slotlab-node", []), ("redis-server", ["--server", a.redis_server])]:
        real[name] = []
        for i in range(a.real_runs):
            ms, why = run(a.slotlab, ["--world", "real", "--seed", str(i + 1), "--base-port", str(a.base_port)] + extra)
            print(f"{name} run {i + 1}: {ms if ms is not None else 'FAILED ' + why}", flush=True)
            if ms is not None:
                real[name].append(ms)
    ref = statistics.median(sim) if sim else None
    print()
    print(summary(f"sim (seeds 1..{a.sim_seeds})", sim, a.sim_seeds))
    for name, v in real.items():
        print(summary(f"real {name}", v, a.real_runs, ref))


if __name__ == "__main__":
    main()
