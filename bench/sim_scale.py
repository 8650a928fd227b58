#!/usr/bin/env python3
"""Issue 7's goals table: runs build/bench/sim_scale in separate processes and writes
reports/scale/README.md (the table), reports/scale/cost.svg (the cost curve) and
reports/scale/results.jsonl (every raw figure).

    bench/sim_scale.py [--build build] [--out reports/scale] [--sizes 6,30,100,300]
                       [--big 1000] [--swarm-seeds 1000] [--seconds 60]
                       [--extra results.jsonl ...]   # add rows measured earlier (e.g. a long 1000-node run)

Each size runs `sim_scale idle` (bootstrap, then S simulated seconds with nobody polling) in its own
process, so the memory figure (VmRSS) is that size's alone. --big N runs `sim_scale failover --nodes N
--idle-before-crash S`: the idle figure at N, then 10% of the primaries segfault at once.
The swarm runs the segfault-master scenario over seeds 1..K split between two processes at once.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


PARTIAL = None  # every result is also appended here as soon as it is measured


def keep(r):
    if PARTIAL:
        with open(PARTIAL, "a") as f:
            f.write(json.dumps(r) + "\n")
    return r


def run(cmd):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return keep(json.loads(out.stdout.strip().splitlines()[-1]))


def swarm(exe, seeds):
    half = seeds // 2
    scenario = os.path.join(ROOT, "scenarios", "segfault-master.json")
    cmds = [[exe, "swarm", "--scenario", scenario, "--first", "1", "--last", str(half)],
            [exe, "swarm", "--scenario", scenario, "--first", str(half + 1), "--last", str(seeds)]]
    t0 = time.monotonic()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.monotonic() - t0
    passed = sum(o["passed"] for o in outs)
    # Two processes on two cores: the slower one's CPU time is the wall time on two free cores.
    cpu = max(o["cpu_s"] for o in outs)
    return keep({"mode": "swarm2", "seeds": seeds, "passed": passed, "wall_s": round(wall, 3), "cpu_s_max": round(cpu, 3),
            "seeds_per_min": round(seeds / wall * 60, 1), "seeds_per_min_cpu": round(seeds / cpu * 60, 1),
            "processes": outs})


def fmt_bytes(b):
    for unit in ("B", "KB", "MB", "GB"):
        if b < 1024 or unit == "GB":
            return f"{b:.1f} {unit}" if unit != "B" else f"{b} B"
        b /= 1024


def svg_plot(rows, path):
    """Two log-log panels: simulated s per wall s, and bytes of memory per node, against N."""
    w, h, m = 760, 300, 60
    pts = sorted(((r["nodes"], r.get("sim_per_cpu", r["sim_per_wall"]), r["rss_bytes"] / r["nodes"]) for r in rows),
                 key=lambda t: t[0])
    if not pts:
        return

    def panel(x0, title, ys, unit, goal=None):
        pw, ph = w / 2 - m - 10, h - 2 * m
        xs = [p[0] for p in pts]
        lo_x, hi_x = math.log10(min(xs) / 1.5), math.log10(max(xs) * 1.5)
        allv = ys + ([goal] if goal else [])
        lo_y, hi_y = math.floor(math.log10(min(allv))), math.ceil(math.log10(max(allv)))
        if hi_y == lo_y:
            hi_y += 1

        def X(v):
            return x0 + m + (math.log10(v) - lo_x) / (hi_x - lo_x) * pw

        def Y(v):
            return m + ph - (math.log10(v) - lo_y) / (hi_y - lo_y) * ph

        s = [f'<text x="{x0 + m + pw / 2}" y="{m - 25}" text-anchor="middle" font-size="14">{title}</text>',
             f'<rect x="{x0 + m}" y="{m}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>']
        for e in range(lo_y, hi_y + 1):
            y = Y(10 ** e)
            s.append(f'<line x1="{x0 + m}" x2="{x0 + m + pw}" y1="{y}" y2="{y}" stroke="#eee"/>')
            s.append(f'<text x="{x0 + m - 5}" y="{y + 4}" text-anchor="end" font-size="11">1e{e}</text>')
        for n in xs:
            s.append(f'<text x="{X(n)}" y="{m + ph + 16}" text-anchor="middle" font-size="11">{n}</text>')
        s.append(f'<text x="{x0 + m + pw / 2}" y="{m + ph + 34}" text-anchor="middle" font-size="12">nodes N (log)</text>')
        s.append(f'<text x="{x0 + 14}" y="{m + ph / 2}" font-size="12" transform="rotate(-90 {x0 + 14} {m + ph / 2})" '
                 f'text-anchor="middle">{unit} (log)</text>')
        if goal:
            s.append(f'<line x1="{x0 + m}" x2="{x0 + m + pw}" y1="{Y(goal)}" y2="{Y(goal)}" stroke="#c33" '
                     f'stroke-dasharray="4 3"/><text x="{x0 + m + pw - 4}" y="{Y(goal) - 4}" text-anchor="end" '
                     f'font-size="11" fill="#c33">1x real time</text>')
        path_d = " ".join(f'{"M" if i == 0 else "L"}{X(n):.1f},{Y(v):.1f}' for i, (n, v) in enumerate(zip(xs, ys)))
        s.append(f'<path d="{path_d}" fill="none" stroke="#36c" stroke-width="2"/>')
        for n, v in zip(xs, ys):
            s.append(f'<circle cx="{X(n):.1f}" cy="{Y(v):.1f}" r="3.5" fill="#36c"/>')
        return s

    body = panel(0, "simulated s per CPU s (one core)", [p[1] for p in pts], "sim s / CPU s", goal=1.0)
    body += panel(w / 2, "memory per node (VmRSS / N)", [p[2] for p in pts], "bytes")
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">\n'
                '<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(body) + "\n</svg>\n")


def goals(results, rows):
    """Issue 7's goals, each with the figure measured here and whether it is met."""
    L = ["## Goals", "", "| goal | figure measured | met? |", "|---|---|---|"]
    yes = lambda ok: "**met**" if ok else "**not met**"
    big = [r for r in results if r["mode"] == "failover" and r["nodes"] >= 1000 and r.get("idle")]
    if big:
        r = big[-1]
        i = r["idle"]
        spc = i.get("sim_per_cpu", i["sim_per_wall"])
        L.append(f'| {r["nodes"]} nodes, {i["sim_s"]} s of cluster time in < {i["sim_s"]} s on one core | '
                 f'{i.get("cpu_s", i["wall_s"]):.1f} CPU s ({spc:.2f} sim s per CPU s; wall {i["wall_s"]:.1f} s) | '
                 f'{yes(spc >= 1.0)} |')
        L.append(f'| ... in < 8 GB | peak RSS {fmt_bytes(r["rss_peak_bytes"])} (whole run, bootstrap included) | '
                 f'{yes(r["rss_peak_bytes"] < 8 * 1024 ** 3)} |')
        L.append(f'| segfault 10% of the primaries at {r["nodes"]} nodes | {r["crashed_primaries"]} crashed, '
                 f'{r["promoted"]} replicas promoted, converged {r["converged_ms"] / 1000:.1f} s after the crash '
                 f'(table above) | {yes(r["promoted"] == r["crashed_primaries"])} (measured) |')
    else:
        L.append("| 1,000 nodes at >= 1x real time, < 8 GB, 10% segfault | not run (use --big 1000) | - |")
    idle6 = [r for r in results if r["mode"] == "idle" and r["nodes"] == 6 and r.get("node_timeout_ms") == 15000
             and r.get("invariant_period_ms", 1000) != 0]
    if idle6:
        r = idle6[0]
        L.append(f'| idle 3+3 >= 10,000x real time | {r["sim_s"] / r.get("cpu_s", r["wall_s"]):.0f}x per CPU s, '
                 f'{r["sim_per_wall"]:.0f}x per wall s (invariant checks every simulated second) | '
                 f'{yes(r["sim_s"] / r.get("cpu_s", r["wall_s"]) >= 10000)} |')
    sw = [r for r in results if r["mode"] == "swarm2"]
    if sw:
        r = sw[-1]
        L.append(f'| segfault-master swarm >= 1,000 seeds/min on both cores | {r["seeds_per_min"]:.0f} seeds/min wall '
                 f'({r["passed"]}/{r["seeds"]} passed) | {yes(r["seeds_per_min"] >= 1000)} |')
    sizes = sorted(r["nodes"] for r in rows)
    L.append(f'| cost curve for N = 6, 30, 100, 300, 1,000 (2,000 if it fits) | measured for N = '
             f'{", ".join(str(n) for n in sizes)} | {yes(all(n in sizes for n in (6, 30, 100, 300, 1000)))} |')
    L.append("")
    return L


def render(results, out_dir):
    idle = [r for r in results if r["mode"] == "idle" and r.get("invariant_period_ms", 1000) != 0]
    curve = {}
    for r in idle:
        if r["node_timeout_ms"] == 15000:
            curve[r["nodes"]] = r
    for r in results:  # the idle phase of a big failover run is a curve point too
        if r["mode"] == "failover" and r.get("idle"):
            i = r["idle"]
            curve.setdefault(r["nodes"], {"nodes": r["nodes"], "sim_s": i["sim_s"], "wall_s": i["wall_s"],
                                          "sim_per_wall": i["sim_per_wall"], "messages": i["messages"],
                                          "cpu_s": i.get("cpu_s", i["wall_s"]),
                                          "sim_per_cpu": i.get("sim_per_cpu", i["sim_per_wall"]),
                                          "bytes": i["bytes"], "rss_bytes": i["rss_bytes"], "events": i["events"],
                                          "bootstrap_ready_sim_ms": r["bootstrap_ready_sim_ms"],
                                          "bootstrap_wall_s": r["bootstrap_wall_s"],
                                          "invariant_period_ms": r["invariant_period_ms"]})
    rows = [curve[n] for n in sorted(curve)]
    L = ["# Simulator scale and speed (issue 7)", "",
         "Generated by `bench/sim_scale.py` (see bench/README in the top README). Machine: 2 cores shared with "
         "other jobs; wall times are noisy, instruction counts (callgrind) are the stable measure.", "",
         "## Cost curve: idle cluster, N/2 primaries + N/2 replicas, cluster-node-timeout 15000", "",
         "CPU s is the process's own CPU time (getrusage): on this shared machine (other jobs ran at the same "
         "time) it is what wall time would be on a core of our own; wall s is also shown.", "",
         "| N | sim s | CPU s | sim s per CPU s | wall s | bus packets / sim s | bus MB / sim s | CPU µs per packet | "
         "VmRSS | bytes per node | bootstrap (sim s / wall s) | invariant check every |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pk = r["messages"] / r["sim_s"]
        cpu = r.get("cpu_s", r["wall_s"])
        L.append(f'| {r["nodes"]} | {r["sim_s"]} | {cpu:.3f} | {r["sim_s"] / cpu:.2f} | {r["wall_s"]:.3f} | {pk:.0f} | '
                 f'{r["bytes"] / r["sim_s"] / 1e6:.2f} | {cpu * 1e6 / max(r["messages"], 1):.1f} | '
                 f'{fmt_bytes(r["rss_bytes"])} | {r["rss_bytes"] / r["nodes"] / 1024:.0f} KB | '
                 f'{r["bootstrap_ready_sim_ms"] / 1000:.1f} / {r["bootstrap_wall_s"]:.1f} | '
                 f'{r.get("invariant_period_ms", 1000)} ms |')
    L += ["", "![cost curve](cost.svg)", ""]
    if len(rows) >= 3:
        big = [r for r in rows if r["nodes"] >= 30]
        def slope(key):
            xs = [math.log(r["nodes"]) for r in big]
            ys = [math.log(key(r)) for r in big]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        e_pk = slope(lambda r: r["messages"] / r["sim_s"])
        e_by = slope(lambda r: r["bytes"] / r["sim_s"])
        e_cpu = slope(lambda r: r.get("cpu_s", r["wall_s"]) / r["sim_s"])
        e_mem = slope(lambda r: r["rss_bytes"])
        L += ["## Why it grows the way it does", "",
              f"Fitted over N >= 30 (log-log slopes): bus packets per simulated second grow as N^{e_pk:.2f}, bus "
              f"bytes as N^{e_by:.2f}, CPU per simulated second as N^{e_cpu:.2f}, memory as N^{e_mem:.2f}.", "",
              "* **Packets ~ N^2 / node-timeout.** Every node pings every peer whose last PONG is older than "
              "node-timeout/2 (clusterCron), plus one random peer per second, and each PING is answered by a PONG: "
              "at most 2·N·(N-1)/(node-timeout/2) packets per second. Redis 7.0 lets a node borrow a fresher PONG "
              "time from gossip (clusterProcessGossipSection), so in a quiet cluster far fewer direct pings are "
              "needed, which is why the fitted exponent is below 2.",
              "* **Bytes ~ N^3 / node-timeout.** Each packet is the 2,256-byte header (with the 2 KB slot bitmap) plus "
              "max(3, N/10) gossip entries of 104 bytes (clusterSendPing: wanted = floor(N/10), at least 3, plus one "
              "entry per PFAIL node): 2.6 KB at N=6, 5.4 KB at N=300, 12.7 KB at N=1000.",
              "* **CPU ~ N^2.5..N^3: gossip entries and memory latency.** Gossip entries handled per simulated "
              f"second grow as packets x N/10 (about N^{e_pk + 1:.1f} here); for each one the sender reads a random peer's "
              "record (3 cache lines) and the receiver looks it up (one index cell, one record line). On top, every "
              "node's clusterCron walks its whole node table twice per tick, 10 ticks per second: 10·N^2 record "
              "visits per simulated second. Below ~300 nodes the hot lines of all views (~N^2 x 200 bytes) fit in "
              "the 32 MB L3 cache; beyond it nearly every one of these reads is a DRAM access (and, with 4 KB pages, "
              "a TLB miss), which is why the slope steepens past 300 nodes. The records are laid out and prefetched "
              "for this (see profile.md). The harness's invariant check (every node's slot table against every "
              "node's bitmap) adds N^2 bitmap counts per check; it runs every simulated second by default and "
              "every 10 s for N >= 300.",
              "* **Memory ~ N^2.** Every node holds a clusterNode per peer with its 2 KB slot bitmap (as Redis "
              "does), two links per peer (each a simulated TCP connection with its queues), and a fixed part per "
              "node (the 16384-entry slot table and the migrating/importing tables, 384 KB).", ""]
    other = [r for r in results if r["mode"] == "idle" and r not in rows and r["nodes"] == 6]
    if other:
        L += ["## Idle 3+3", "", "| node-timeout | harness invariant checks | sim s | CPU s | sim s per CPU s | "
              "wall s | sim s per wall s |", "|---|---|---|---|---|---|---|"]
        for r in other + [r for r in rows if r["nodes"] == 6]:
            inv = "off" if r.get("invariant_period_ms") == 0 else f'every {r.get("invariant_period_ms", 1000)} ms'
            cpu = r.get("cpu_s", r["wall_s"])
            L.append(f'| {r.get("node_timeout_ms", 15000)} | {inv} | {r["sim_s"]} | {cpu:.3f} | {r["sim_s"] / cpu:.0f}x | '
                     f'{r["wall_s"]:.3f} | {r["sim_per_wall"]:.0f}x |')
        L.append("")
    fo = [r for r in results if r["mode"] == "failover"]
    if fo:
        L += ["## Segfault 10% of the primaries at once", "",
              "Times in simulated ms after the crash (min / median / max over the crashed primaries): first PFAIL "
              "anywhere, first FAIL anywhere, promotion of its replica; converged = every running node in state ok "
              "with the same slot owners, no slot on a crashed node, every crashed node flagged FAIL.", "",
              "| N | node-timeout | crashed | promoted | first PFAIL | first FAIL | promoted at | converged | "
              "CPU s (crash to convergence) | peak RSS |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in fo:
            f3 = lambda v: " / ".join("-" if x is None else str(x) for x in v)
            L.append(f'| {r["nodes"]} | {r["node_timeout_ms"]} | {r["crashed_primaries"]} | {r["promoted"]} | '
                     f'{f3(r["first_pfail_ms_min_med_max"])} | {f3(r["first_fail_ms_min_med_max"])} | '
                     f'{f3(r["promoted_ms_min_med_max"])} | {r["converged_ms"]} | {r.get("cpu_s", r["wall_s"]):.1f} | '
                     f'{fmt_bytes(r["rss_peak_bytes"])} |')
        L.append("")
    sw = [r for r in results if r["mode"] == "swarm2"]
    if sw:
        L += ["## Swarm: segfault-master, two processes at once", "",
              "| seeds | passed | wall s | seeds per minute (wall) | slower process's CPU s | seeds per minute (CPU) |",
              "|---|---|---|---|---|---|"]
        for r in sw:
            L.append(f'| {r["seeds"]} | {r["passed"]} | {r["wall_s"]:.1f} | {r["seeds_per_min"]:.0f} | '
                     f'{r.get("cpu_s_max", r["wall_s"]):.1f} | {r.get("seeds_per_min_cpu", r["seeds_per_min"]):.0f} |')
        L.append("")
    L += goals(results, rows)
    os.makedirs(out_dir, exist_ok=True)
    if os.path.exists(os.path.join(out_dir, "profile.md")):
        L += ["Profiles, the optimisations made and the goals met or missed: [profile.md](profile.md).", ""]
    svg_plot(rows, os.path.join(out_dir, "cost.svg"))
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "reports", "scale"))
    ap.add_argument("--sizes", default="6,30,100,300,600")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--seconds-large", type=int, default=20, help="simulated seconds for N >= 300")
    ap.add_argument("--big", type=int, default=0, help="also the failover run at this size (e.g. 1000)")
    ap.add_argument("--failover-sizes", default="100")
    ap.add_argument("--swarm-seeds", type=int, default=1000)
    ap.add_argument("--extra", nargs="*", default=[], help="JSON-lines files with rows measured earlier")
    ap.add_argument("--render-only", action="store_true")
    a = ap.parse_args()
    exe = os.path.join(a.build, "bench", "sim_scale")
    global PARTIAL
    os.makedirs(a.out, exist_ok=True)
    PARTIAL = os.path.join(a.out, "partial.jsonl")
    if not a.render_only and os.path.exists(PARTIAL):
        os.remove(PARTIAL)
    results = []
    for path in a.extra:
        with open(path) as f:
            results += [json.loads(line) for line in f if line.strip().startswith("{")]
    if not a.render_only:
        results.append(run([exe, "idle", "--nodes", "6", "--seconds", "600"]))
        results.append(run([exe, "idle", "--nodes", "6", "--seconds", "600", "--invariant-period", "0"]))
        results.append(run([exe, "idle", "--nodes", "6", "--seconds", "600", "--node-timeout", "2000"]))
        for n in [int(x) for x in a.sizes.split(",") if x]:
            if n == 6:
                continue
            secs = a.seconds if n < 300 else a.seconds_large
            cmd = [exe, "idle", "--nodes", str(n), "--seconds", str(secs)]
            if n >= 300:
                cmd += ["--invariant-period", "10000"]
            results.append(run(cmd))
        for n in [int(x) for x in a.failover_sizes.split(",") if x]:
            results.append(run([exe, "failover", "--nodes", str(n)]))
        if a.big:
            results.append(run([exe, "failover", "--nodes", str(a.big), "--idle-before-crash", str(a.seconds),
                                "--invariant-period", "10000"]))
        if a.swarm_seeds:
            results.append(swarm(exe, a.swarm_seeds))
    md = render(results, a.out)
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write(md + "\n")
    with open(os.path.join(a.out, "results.jsonl"), "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    if os.path.exists(PARTIAL):
        os.remove(PARTIAL)
    print(md)


if __name__ == "__main__":
    main()
