# slotlab.RealCluster: the same API over real processes on free loopback ports, always cleaned up.
import os
import socket

import pytest

import slotlab


def node_binary():
    b = slotlab._core.default_node_binary()
    if not b or not os.access(b, os.X_OK):
        pytest.skip("slotlab-node is not built")
    return b


def pids_alive(pids):
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                alive.append(pid)
        except FileNotFoundError:
            pass
    return alive


def listening(port):
    s = socket.socket()
    try:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0
    finally:
        s.close()


def ports_of(c):
    return [int(n.address.split(":")[1]) for n in c.nodes]


def server_pids(work_dir):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if work_dir.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out


def test_real_slotlab_node_cluster_and_cleanup():
    # Primaries only (faster): kill/restart, pause/resume, the client and cleanup.
    node_binary()
    with slotlab.RealCluster(masters=3, replicas=0, server="slotlab-node", node_timeout_ms=1000) as c:
        assert not c.simulated and c.trace_hash is None
        nodes = c.nodes
        assert len(nodes) == 3 and sum(n.slot_count for n in nodes if n.role == "primary") == 16384
        assert all(n.address.startswith("127.0.0.1:") and n.cluster_state == "ok" for n in nodes)
        work_dir = c.work_dir
        pids = server_pids(work_dir)
        assert len(pids) == 3
        client = c.client()
        for i in range(20):
            assert client.set(f"k{i}", i) == "OK"
        assert client.get("k7") == "7"
        assert client.last_served_by in {"n1", "n2", "n3"}
        t0 = c.now_ms
        c.run_for(300)                      # real time passes
        assert c.now_ms - t0 >= 300
        with pytest.raises(slotlab.UnsupportedError):
            c.partition([[0], [1]])
        with pytest.raises(slotlab.UnsupportedError):
            c.clock_skew(0, 10)
        with pytest.raises(slotlab.UnsupportedError):
            c.delay(0, 10)
        c.pause(1)
        assert c.node(1).paused
        with pytest.raises(slotlab.TimeoutError):
            c.command(1, "PING", timeout_ms=300)
        c.resume(1)
        assert c.command(1, "PING") == "PONG"
        c.kill(2)
        assert not c.node(2).running
        c.restart(2)
        c.run_until(c.healthy, timeout_ms=20_000)
        assert c.node(2).running and c.node(2).role == "primary"   # it kept its slots (nodes.conf)
        ports = [int(n.address.split(":")[1]) for n in nodes]
    assert c.closed
    assert pids_alive(pids) == []
    for p in ports:   # every port is free again (a restarted server could bind it)
        assert not listening(p)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p))
        s.close()


def test_real_cluster_cleans_up_when_the_test_fails():
    node_binary()
    with pytest.raises(ZeroDivisionError):
        with slotlab.RealCluster(masters=3, replicas=0) as c:
            pids = server_pids(c.work_dir)
            assert len(pids) == 3
            1 / 0
    assert pids_alive(pids) == []


@pytest.mark.skipif(not os.access("/usr/bin/redis-server", os.X_OK), reason="redis-server not installed")
def test_real_redis_server_cluster_fails_over():
    with slotlab.RealCluster(masters=3, replicas=1, server="/usr/bin/redis-server", node_timeout_ms=1000) as c:
        assert c.command(0, "PING") == "PONG"
        assert sum(n.slot_count for n in c.nodes if n.role == "primary") == 16384
        assert c.cluster_check()["ok"]
        ports = ports_of(c)
        assert all(listening(p) for p in ports)   # redis-server renames its process: check ports
        victim = c.primaries()[0]
        replica = c.replicas_of(victim)[0]
        c.crash(victim)                      # DEBUG SEGFAULT
        c.run_until(lambda: c.node(replica).role == "primary", timeout_ms=20_000)
        assert c.node(replica).slots == victim.slots
        # the timeline comes from the servers' own log lines
        events = c.events
        assert any(e["event"] == "promoted" and e["node"] == replica.name for e in events), events[-10:]
        c.restart(victim)
        c.run_until(lambda: c.node(victim).role == "replica", timeout_ms=20_000)
    assert not any(listening(p) for p in ports)


def test_real_slotlab_node_replicas_fail_over():
    node_binary()
    with slotlab.RealCluster(masters=3, replicas=1, node_timeout_ms=1000) as c:
        victim = c.primaries()[0]
        replica = c.replicas_of(victim)[0]
        client = c.client()
        for i in range(50):
            assert client.set(f"k{i}", i) == "OK"
        # WAIT on every primary: the writes reached the replicas before the crash
        for p in c.primaries():
            assert c.command(p, "WAIT", 1, 5000) == 1
        c.crash(victim)                      # DEBUG SEGFAULT
        c.run_until(lambda: c.node(replica).role == "primary", timeout_ms=20_000)
        assert c.node(replica).slots == victim.slots and c.node(replica).epoch > victim.epoch
        c.run_until(c.healthy, timeout_ms=20_000)
        assert [client.get(f"k{i}") for i in range(50)] == [str(i) for i in range(50)]
        c.restart(victim)
        c.run_until(lambda: c.node(victim).role == "replica", timeout_ms=20_000)
        assert c.node(victim).primary == c.node(replica).id


def test_real_cluster_arguments():
    with pytest.raises(slotlab.ArgumentError, match="not an executable"):
        slotlab.RealCluster(server="/nonexistent/server")
    with pytest.raises(slotlab.ArgumentError):
        slotlab.RealCluster(server="sim")


def test_real_cluster_fixture(real_cluster):
    assert real_cluster.command(0, "PING") == "PONG"
    assert real_cluster.healthy()
    assert len(real_cluster.nodes) == 6 and len(real_cluster.primaries()) == 3


def test_a_forgotten_real_cluster_is_stopped_at_exit(tmp_path):
    # A script that never closes its cluster: interpreter exit (finalization, and the atexit hook
    # for clusters that finalization would not reach) stops every process.
    import subprocess
    import sys
    node_binary()
    script = tmp_path / "forget.py"
    script.write_text("import slotlab\n"
                      "c = slotlab.RealCluster(masters=3, replicas=0)\n"
                      "print(c.work_dir, ' '.join(n.address.split(':')[1] for n in c.nodes), flush=True)\n"
                      "held = [c]  # still referenced when the interpreter exits\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(slotlab.__file__)))
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    work_dir, *ports = p.stdout.split()
    assert len(ports) == 3
    assert not any(listening(int(port)) for port in ports)
    assert server_pids(work_dir) == [] or pids_alive(server_pids(work_dir)) == []
