"""The Python side of issue 6's overhead figure: c.run_for(60_000) on a 3+3 simulated cluster,
timed; compare with bench/py_run_for (C++, same engine, same seed: the trace hashes match).

    PYTHONPATH=build/bindings/python /usr/bin/python3 bench/py_run_for.py [SEED] [REPEATS] [MS]
"""
import statistics
import sys
import time

import slotlab

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 20
run_ms = int(sys.argv[3]) if len(sys.argv) > 3 else 60_000
wall = []
for _ in range(max(repeats, 1)):
    c = slotlab.Cluster(masters=3, replicas=1, seed=seed)
    t0 = time.perf_counter()
    c.run_for(run_ms)
    wall.append((time.perf_counter() - t0) * 1000)
    trace = c.trace_hash
    c.close()
wall.sort()
print(f"python run_for({run_ms}) on 3+3, seed {seed}, {len(wall)} runs: min {wall[0]:.1f} ms, "
      f"median {statistics.median_low(wall):.1f} ms (trace {trace})")

# The same through the CLI's path: slotlab.run_scenario on bench/run_for_60s.json (create, wait
# until healthy and in sync, sleep 60 s), to hold against the "wall-clock time" that
# `slotlab run bench/run_for_60s.json --seed SEED` prints.
import os  # noqa: E402

scenario = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_for_60s.json")
wall = []
for _ in range(max(repeats, 1)):
    t0 = time.perf_counter()
    r = slotlab.run_scenario(scenario, seed=seed)
    wall.append((time.perf_counter() - t0) * 1000)
wall.sort()
print(f"python run_scenario(run_for_60s.json), seed {seed}, {len(wall)} runs: min {wall[0]:.1f} ms, "
      f"median {statistics.median_low(wall):.1f} ms (trace {r['trace_hash']}, passed {r['passed']})")
