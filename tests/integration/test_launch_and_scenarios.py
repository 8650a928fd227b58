"""The slotlab CLI with real processes: `slotlab launch` / `launch --stop`, and `slotlab run
SCENARIO --world real`, each against slotlab-node and against redis-server."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from conftest import REPO, cli, cluster_tool, free_port_block, run, wait_until


def _pids_alive(pids):
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        # A zombie (not reaped yet by whoever inherited it) is gone for our purpose.
        with open(f"/proc/{pid}/stat") as f:
            if f.read().split(")")[-1].split()[0] != "Z":
                alive.append(pid)
    return alive


def test_launch_and_stop(server, slotlab_cli):
    base = free_port_block(6)
    d = tempfile.mkdtemp(prefix="slotlab-launch-it-")
    launch_dir = os.path.join(d, "cluster")
    pids = []
    try:
        r = run([slotlab_cli, "launch", "--masters", "3", "--replicas", "1", "--base-port", str(base),
                 "--server", server["path"], "--dir", launch_dir], timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"redis-cli -c -p {base}" in r.stdout and "slotlab launch --stop --dir" in r.stdout
        with open(os.path.join(launch_dir, "launch.json")) as f:
            state = json.load(f)
        pids = [n["pid"] for n in state["nodes"]]
        assert len(pids) == 6 and len(_pids_alive(pids)) == 6
        # The walkthrough an operator does next, with the stock tools.
        check = cluster_tool("check", f"127.0.0.1:{base}")
        assert check.returncode == 0 and "[OK] All 16384 slots covered." in check.stdout, check.stdout
        assert cli(base, "SET", "walk", "through", cluster_mode=True) == "OK"
        assert cli(base + 2, "GET", "walk", cluster_mode=True) == "through"
        # A second launch in the same directory refuses while the first one runs.
        r2 = run([slotlab_cli, "launch", "--masters", "3", "--base-port", str(base), "--server", server["path"],
                  "--dir", launch_dir], timeout=60)
        assert r2.returncode == 1 and "still running" in r2.stderr
        r = run([slotlab_cli, "launch", "--stop", "--dir", launch_dir], timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "stopped 6 node(s)" in r.stdout
        wait_until(lambda: not _pids_alive(pids), timeout=15, what="launched processes to exit")
        assert not os.path.exists(launch_dir)
    finally:
        for pid in _pids_alive(pids):  # only the PIDs launch recorded for this test
            os.kill(pid, 9)
        shutil.rmtree(d, ignore_errors=True)


def test_segfault_scenario_in_the_real_world(server, slotlab_cli):
    base = free_port_block(6)
    r = run([slotlab_cli, "run", os.path.join(REPO, "scenarios", "segfault-master.json"), "--world", "real",
             "--server", server["path"], "--base-port", str(base), "--json"], timeout=240)
    result = json.loads(r.stdout)
    assert r.returncode == 0 and result["passed"], r.stdout[-3000:] + r.stderr
    assert result["world"] == "real"
    (f,) = result["failovers"]
    # The stages come from the nodes' logs; a promotion follows FAIL. The crash is timed from
    # when DEBUG SEGFAULT was sent (the node stops answering then, though redis-server's process
    # lives ~1 s longer writing its bug report), so FAIL cannot come much before
    # cluster-node-timeout (2000 ms) has passed: a ping sent a moment before the crash starts the
    # timeout early by that moment (a loopback round trip), and log timestamps are whole ms.
    assert f["promoted_node"] is not None
    assert 1900 <= f["ms_to_fail"] <= f["ms_to_promotion"] < 20000
