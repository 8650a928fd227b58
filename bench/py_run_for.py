"""The Python side of issue 6's overhead figure: c.run_for(60_000) on a 3+3 simulated cluster,
timed; compare with bench/py_run_for (C++, same engine, same seed: the trace hashes match).

    PYTHONPATH=build/bindings/python /usr/bin/python3 bench/py_run_for.py [SEED] [REPEATS]
"""
import sys
import time

import slotlab

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
for _ in range(repeats):
    c = slotlab.Cluster(masters=3, replicas=1, seed=seed)
    t0 = time.perf_counter()
    c.run_for(60_000)
    ms = (time.perf_counter() - t0) * 1000
    print(f"python run_for(60000): {ms:.1f} ms wall (trace {c.trace_hash})")
    c.close()
