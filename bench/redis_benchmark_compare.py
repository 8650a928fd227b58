#!/usr/bin/python3
"""redis-benchmark against slotlab-node and Debian's redis-server, side by side in one run.

    bench/redis_benchmark_compare.py [--slotlab-node PATH] [--redis-server PATH]
                                     [-n REQUESTS] [-c CLIENTS] [--repeat R] [--json]

For each mode (standalone; a 3-primary cluster driven with redis-benchmark --cluster), each
pipeline depth (1 and 16) and each test (SET, GET, PING_MBULK), it runs redis-benchmark against the
two servers alternately, R times each, keeps the median, and prints throughput and p50/p99 latency
with the ratios slotlab-node / redis-server (throughput ratio > 1 and latency ratio < 1 mean
slotlab-node is faster). Both servers get the same configuration: no persistence, loopback only.

The figures are only as steady as the machine: on a shared 2-core box, run it twice and compare.
"""
import argparse
import csv
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REDIS_BENCHMARK = "/usr/bin/redis-benchmark"
REDIS_CLI = "/usr/bin/redis-cli"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def port_pair_free(p):
    for q in (p, p + 10000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            return False
        finally:
            s.close()
    return True


def pick_port(used):
    import random
    for _ in range(1000):
        p = random.randrange(20000, 30000)
        if p not in used and port_pair_free(p):
            used.add(p)
            return p
    raise RuntimeError("no free port")


class Server:
    def __init__(self, binary, base, used, cluster):
        self.port = pick_port(used)
        self.dir = os.path.join(base, str(self.port))
        os.makedirs(self.dir)
        conf = os.path.join(self.dir, "redis.conf")
        lines = [f"port {self.port}", "bind 127.0.0.1", f"dir {self.dir}", "logfile node.log", 'save ""',
                 "appendonly no", "daemonize no"]
        if cluster:
            lines += ["cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 5000"]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.p = subprocess.Popen([binary, conf], cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.p.poll() is not None:
                    raise RuntimeError(f"{binary} exited at start-up")
                time.sleep(0.05)
        raise RuntimeError(f"{binary} did not start")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def start_setup(binary, base, used, mode):
    if mode == "standalone":
        return [Server(binary, base, used, cluster=False)]
    nodes = [Server(binary, base, used, cluster=True) for _ in range(3)]
    r = subprocess.run([REDIS_CLI, "--cluster", "create"] + [f"127.0.0.1:{n.port}" for n in nodes] +
                       ["--cluster-yes"], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"cluster create failed: {r.stdout}{r.stderr}")
    deadline = time.time() + 30
    while time.time() < deadline:
        ok = all("cluster_state:ok" in subprocess.run([REDIS_CLI, "-p", str(n.port), "CLUSTER", "INFO"],
                                                      capture_output=True, text=True).stdout for n in nodes)
        if ok:
            return nodes
        time.sleep(0.2)
    raise RuntimeError("cluster did not become ok")


def bench(port, mode, test, pipeline, n, clients):
    argv = [REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(port), "-t", test, "-n", str(n), "-c", str(clients),
            "-P", str(pipeline), "--csv"]
    if mode == "cluster":
        argv.insert(1, "--cluster")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed: {r.stderr}")
    rows = list(csv.reader(io.StringIO(r.stdout.replace("\r", "\n"))))
    for row in rows:
        if len(row) >= 7 and row[0] != "test":
            return {"rps": float(row[1]), "p50": float(row[4]), "p99": float(row[6])}
    raise RuntimeError(f"no CSV row in redis-benchmark output: {r.stdout!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_node = next((p for p in (os.path.join(REPO, d, "daemon", "slotlab-node") for d in ("build", "build-a"))
                         if os.path.exists(p)), "")
    ap.add_argument("--slotlab-node", default=default_node)
    ap.add_argument("--redis-server", default="/usr/bin/redis-server")
    ap.add_argument("-n", type=int, default=100000, help="requests per run (default 100000)")
    ap.add_argument("-c", type=int, default=50, help="parallel clients (default 50)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per cell, the median is kept (default 3)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.slotlab_node or not os.path.exists(args.slotlab_node):
        sys.exit("slotlab-node not found: build it or pass --slotlab-node")

    servers = {"slotlab-node": os.path.abspath(args.slotlab_node), "redis-server": os.path.abspath(args.redis_server)}
    base = tempfile.mkdtemp(prefix="slotlab-bench-")
    used = set()
    results = []
    try:
        for mode in ("standalone", "cluster"):
            setups = {k: start_setup(b, base, used, mode) for k, b in servers.items()}
            try:
                for pipeline in (1, 16):
                    for test in ("set", "get", "ping_mbulk"):
                        samples = {k: [] for k in servers}
                        for _ in range(args.repeat):
                            for k in servers:  # alternate, so drift in machine load hits both
                                samples[k].append(bench(setups[k][0].port, mode, test, pipeline, args.n, args.c))
                        cell = {"mode": mode, "pipeline": pipeline, "test": test.upper()}
                        for k in servers:
                            for m in ("rps", "p50", "p99"):
                                cell[f"{k}_{m}"] = statistics.median(s[m] for s in samples[k])
                        results.append(cell)
                        if not args.json:
                            print_row(cell, header=len(results) == 1)
            finally:
                for nodes in setups.values():
                    for s in nodes:
                        s.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps({"n": args.n, "clients": args.c, "repeat": args.repeat, "results": results}, indent=2))
    else:
        ratios = [r["slotlab-node_rps"] / r["redis-server_rps"] for r in results]
        geo = statistics.geometric_mean(ratios)
        print(f"\ngeometric mean throughput ratio slotlab-node / redis-server: {geo:.2f}x "
              f"(n={args.n}, c={args.c}, median of {args.repeat})")


def ratio(a, b):
    return a / b if b else float("nan")


def print_row(c, header):
    if header:
        print(f"{'mode':<10} {'P':>2} {'test':<10} {'slotlab rps':>12} {'redis rps':>12} {'rps x':>6} "
              f"{'p50 ms s/r':>13} {'p50 x':>6} {'p99 ms s/r':>13} {'p99 x':>6}")
    s, r = "slotlab-node", "redis-server"
    print(f"{c['mode']:<10} {c['pipeline']:>2} {c['test']:<10} {c[s + '_rps']:>12.0f} {c[r + '_rps']:>12.0f} "
          f"{ratio(c[s + '_rps'], c[r + '_rps']):>6.2f} "
          f"{c[s + '_p50']:>6.3f}/{c[r + '_p50']:<6.3f} {ratio(c[s + '_p50'], c[r + '_p50']):>6.2f} "
          f"{c[s + '_p99']:>6.3f}/{c[r + '_p99']:<6.3f} {ratio(c[s + '_p99'], c[r + '_p99']):>6.2f}", flush=True)


if __name__ == "__main__":
    main()
