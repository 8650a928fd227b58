# slotlab.Cluster over the simulator: construction, time, nodes, commands, the client, faults,
# admin operations, checks, records, and their failure paths.
import signal
import threading
import time

import pytest

import slotlab

SLOTS = 16384


@pytest.fixture(scope="module")
def shared():
    """A cluster for read-mostly tests (tests that break things make their own)."""
    c = slotlab.Cluster(masters=3, replicas=1, seed=11)
    yield c
    c.close()


def covered(nodes):
    return sum(n.slot_count for n in nodes if n.role == "primary")


# --- construction -----------------------------------------------------------------------------

def test_new_cluster_is_healthy_and_shaped_as_asked(shared):
    nodes = shared.nodes
    assert [n.name for n in nodes] == ["n1", "n2", "n3", "n4", "n5", "n6"]
    assert [n.index for n in nodes] == list(range(6))
    primaries = [n for n in nodes if n.role == "primary"]
    replicas = [n for n in nodes if n.role == "replica"]
    assert len(primaries) == 3 and len(replicas) == 3
    assert covered(nodes) == SLOTS
    assert sorted(r.primary for r in replicas) == sorted(p.id for p in primaries)
    for n in nodes:
        assert n.running and n.member and not n.paused
        assert len(n.id) == 40 and n.cluster_state == "ok"
        assert n.address.endswith(":6379")
        assert ("master" if n.role == "primary" else "slave") in n.flags
        assert "myself" not in n.flags
    assert all(p.epoch > 0 for p in primaries)
    assert shared.healthy()


def test_cluster_arguments_are_checked():
    with pytest.raises(slotlab.ArgumentError, match="at least 3 master"):
        slotlab.Cluster(masters=2)
    with pytest.raises(slotlab.ArgumentError, match="replicas"):
        slotlab.Cluster(replicas=-1)
    with pytest.raises(slotlab.ArgumentError, match="masters must be an integer"):
        slotlab.Cluster(masters="3")
    with pytest.raises(slotlab.ArgumentError, match="node_timeout_ms"):
        slotlab.Cluster(node_timeout_ms=10)
    with pytest.raises(slotlab.ArgumentError, match="seed"):
        slotlab.Cluster(seed=-1)
    with pytest.raises(slotlab.ArgumentError, match="unknown directive"):
        slotlab.Cluster(config={"no-such-directive": "1"})


def test_ready_timeout_is_a_timeout_error():
    # 1 ms is not enough to create a cluster: the error says what was still wrong.
    with pytest.raises(slotlab.TimeoutError, match="not healthy within 1 ms"):
        slotlab.Cluster(ready_timeout_ms=1)


def test_exceptions_form_one_hierarchy():
    assert issubclass(slotlab.TimeoutError, slotlab.Error) and issubclass(slotlab.TimeoutError, TimeoutError)
    assert issubclass(slotlab.ScenarioError, ValueError)
    assert issubclass(slotlab.ArgumentError, ValueError)
    assert issubclass(slotlab.ConnectionError, ConnectionError)
    assert issubclass(slotlab.UnsupportedError, NotImplementedError)
    for kind, exc in [("timeout", slotlab.TimeoutError), ("io", slotlab.ConnectionError),
                      ("state", slotlab.StateError), ("arg", slotlab.ArgumentError)]:
        with pytest.raises(exc):
            slotlab._core.raise_for_test(kind)
    with pytest.raises(slotlab.Error, match="internal error: boom"):
        slotlab._core.raise_for_test("std")


# --- time -------------------------------------------------------------------------------------

def test_run_for_advances_simulated_time(shared):
    t0 = shared.now_ms
    shared.run_for(5000)
    assert shared.now_ms == t0 + 5000
    shared.run_for(0)
    assert shared.now_ms == t0 + 5000
    with pytest.raises(slotlab.ArgumentError):
        shared.run_for(-1)
    with pytest.raises(slotlab.ArgumentError):
        shared.run_for(1.5)
    with pytest.raises(slotlab.ArgumentError):
        shared.run_for(10**20)


def test_run_until_returns_the_predicates_value(shared):
    t0 = shared.now_ms
    assert shared.run_until(lambda: shared.now_ms >= t0 + 300 and "done", timeout_ms=10_000) == "done"
    assert t0 + 300 <= shared.now_ms <= t0 + 400  # evaluated at least every poll_ms (100)
    # a predicate taking the cluster gets it
    assert shared.run_until(lambda c: c is shared, timeout_ms=0) is True


def test_run_until_timeout_describes_the_cluster(shared):
    t0 = shared.now_ms
    with pytest.raises(slotlab.TimeoutError) as e:
        shared.run_until(lambda: False, timeout_ms=700)
    msg = str(e.value)
    assert "did not hold within 700 ms" in msg
    for name in ("n1", "n6"):
        assert name in msg
    assert "primary" in msg and "replica" in msg and "state ok" in msg
    assert shared.now_ms == t0 + 700
    with pytest.raises(slotlab.ArgumentError):
        shared.run_until("not callable", timeout_ms=10)
    with pytest.raises(slotlab.ArgumentError):
        shared.run_until(lambda: True, timeout_ms=-5)


def test_run_until_propagates_the_predicates_exception(shared):
    def boom():
        raise KeyError("from predicate")
    with pytest.raises(KeyError):
        shared.run_until(boom, timeout_ms=100)


def test_long_run_releases_the_gil():
    c = slotlab.Cluster(seed=3)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    start = time.monotonic()
    c.run_for(1_800_000)  # half an hour of simulated time
    elapsed = time.monotonic() - start
    stop.set()
    t.join()
    # The other thread ran while the simulator did: a held GIL would leave it ~nothing.
    assert len(ticks) > 0.3 * elapsed / 0.0015, (len(ticks), elapsed)


def test_signal_interrupts_a_long_run():
    c = slotlab.Cluster(seed=4)

    class Stop(Exception):
        pass

    def handler(signum, frame):
        raise Stop()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        start = time.monotonic()
        with pytest.raises(Stop):
            c.run_for(10**12)  # ~30 years of simulated time
        assert time.monotonic() - start < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    # the cluster is still usable after the interruption
    assert c.command(0, "PING") == "PONG"


# --- nodes and commands -----------------------------------------------------------------------

def test_nodes_can_be_named_every_way(shared):
    n3 = shared.nodes[2]
    for ref in (2, "n3", n3.id, n3.id[:8], n3.id.upper(), n3):
        assert shared.node(ref).name == "n3"
    for bad in (6, -1, "n9", "zzzz", "abcdef0", 1.0, None, True):
        with pytest.raises(slotlab.ArgumentError):
            shared.node(bad)


def test_command_returns_python_values(shared):
    p = shared.primaries()[0]
    key = next(f"key{i}" for i in range(1000) if p.owns(shared.command(p, "CLUSTER", "KEYSLOT", f"key{i}")))
    assert shared.command(p, "PING") == "PONG"
    assert shared.command(p, "SET", key, "v1") == "OK"
    assert shared.command(p, "GET", key) == "v1"
    assert shared.command(p, "GET", key, raw=True) == b"v1"
    assert shared.command(p, "DEL", key) == 1
    assert shared.command(p, "GET", key) is None
    assert shared.command(p, "RPUSH", key, "a", b"b", 3) == 3
    assert shared.command(p, "LRANGE", key, 0, -1) == ["a", "b", "3"]
    assert isinstance(shared.command(p, "CLUSTER", "NODES"), str)


def test_command_errors(shared):
    p = shared.primaries()[0]
    other = next(f"x{i}" for i in range(1000) if not p.owns(shared.command(p, "CLUSTER", "KEYSLOT", f"x{i}")))
    with pytest.raises(slotlab.CommandError, match="^MOVED "):
        shared.command(p, "GET", other)
    with pytest.raises(slotlab.CommandError, match="unknown command"):
        shared.command(p, "NOSUCHCOMMAND")
    with pytest.raises(slotlab.ArgumentError):
        shared.command(p)
    with pytest.raises(slotlab.ArgumentError):
        shared.command(p, "GET", object())
    with pytest.raises(slotlab.ArgumentError):
        shared.command(p, "GET", True)


def test_client_follows_moved_across_the_cluster(shared):
    client = shared.client()
    for i in range(60):
        assert client.set(f"user:{i}", i) == "OK"
    served = set()
    for i in range(60):
        assert client.get(f"user:{i}") == str(i)
        served.add(client.last_served_by)
    assert served == {n.name for n in shared.primaries()}
    assert client.incr("counter") == 1
    assert client.exists("counter") == 1
    assert client.delete("counter") == 1
    assert client.get("counter") is None
    with pytest.raises(slotlab.CommandError, match="WRONGTYPE"):
        client.execute("RPUSH", "user:1", "x")
    with pytest.raises(slotlab.ArgumentError):
        client.execute("GET", key_index=3)


def test_client_follows_a_reshard_with_moved():
    c = slotlab.Cluster(seed=5)
    client = c.client()
    assert client.set("hello", "world") == "OK"
    owner = c.node(client.last_served_by)
    slot = c.command(owner, "CLUSTER", "KEYSLOT", "hello")
    target = next(p for p in c.primaries() if p.name != owner.name)
    # move the key's slot (and everything before it in owner's first range): reshard moves the
    # lowest slots of the source first
    first = owner.slots[0][0]
    r = c.reshard(owner, target, slot - first + 1)
    assert r["moved"] == slot - first + 1 and r["plan"][0]["source"] == owner.name
    assert r["log"]
    c.run_until(c.healthy, timeout_ms=10_000)
    assert client.get("hello") == "world"
    assert client.last_served_by == target.name and client.last_redirects >= 1
    assert c.node(target).owns(slot) and not c.node(owner).owns(slot)


# --- faults -----------------------------------------------------------------------------------

def test_crash_failover_and_restart():
    c = slotlab.Cluster(seed=6)
    victim = c.primaries()[0]
    replica = c.replicas_of(victim)[0]
    c.crash(victim)
    assert not c.node(victim).running and c.node(victim).role is None
    with pytest.raises(slotlab.StateError, match="not running"):
        c.command(victim, "PING")
    with pytest.raises(slotlab.StateError, match="not running"):
        c.crash(victim)
    promoted = c.run_until(lambda: c.node(replica).role == "primary", timeout_ms=30_000)
    assert promoted and c.node(replica).slots == victim.slots
    assert c.node(replica).epoch > victim.epoch
    with pytest.raises(slotlab.StateError, match="already running"):
        c.restart(replica)
    c.restart(victim)
    c.run_until(lambda: c.node(victim).role == "replica" and c.healthy(), timeout_ms=30_000)
    assert c.node(victim).primary == c.node(replica).id
    kinds = {e["event"] for e in c.events}
    assert {"pfail_marked", "fail_marked", "promoted"} <= kinds, kinds


def test_kill_and_pause():
    c = slotlab.Cluster(seed=7)
    r = next(n for n in c.nodes if n.role == "replica")
    c.kill(r)
    assert not c.node(r).running
    c.restart(r)
    c.run_until(c.healthy, timeout_ms=30_000)
    p = c.primaries()[1]
    c.pause(p)
    assert c.node(p).paused
    with pytest.raises(slotlab.StateError, match="already paused"):
        c.pause(p)
    with pytest.raises(slotlab.TimeoutError):
        c.command(p, "PING", timeout_ms=500)
    # others mark it PFAIL then FAIL while it sleeps; a replica takes over
    c.run_until(lambda: any(n.role == "primary" and n.slots == p.slots and n.name != p.name for n in c.nodes),
                timeout_ms=30_000)
    c.resume(p)
    with pytest.raises(slotlab.StateError, match="not paused"):
        c.resume(p)
    c.run_until(lambda: c.node(p).role == "replica" and c.healthy(), timeout_ms=30_000)


def test_partition_and_heal():
    c = slotlab.Cluster(seed=8)
    p = c.primaries()[2]
    others = [n for n in c.nodes if n.name != p.name]
    c.partition([[p], others])
    new = c.run_until(lambda: [n for n in c.primaries() if n.slots == p.slots and n.name != p.name], timeout_ms=30_000)
    assert new
    # the isolated primary still believes it serves the slots, but its cluster is down
    c.run_until(lambda: c.node(p).cluster_state == "fail", timeout_ms=30_000)
    c.heal()
    c.run_until(lambda: c.node(p).role == "replica" and c.healthy(), timeout_ms=30_000)
    with pytest.raises(slotlab.ArgumentError, match="two partition groups"):
        c.partition([[0, 1], [1]])
    with pytest.raises(slotlab.ArgumentError):
        c.partition("n1")
    with pytest.raises(slotlab.ArgumentError, match="empty"):
        c.partition([[]])
    with pytest.raises(slotlab.ArgumentError, match="exactly two"):
        c.partition([[0], [1], [2]], one_way=True)


def test_one_way_partition_makes_the_node_look_dead_to_the_others():
    c = slotlab.Cluster(seed=9)
    p = c.primaries()[0]
    rest = [n for n in c.nodes if n.name != p.name]
    c.partition([[p], rest], one_way=True)   # p's packets never arrive; it still hears the others
    c.run_until(lambda: any(n.role == "primary" and n.slots == p.slots and n.name != p.name for n in c.nodes),
                timeout_ms=30_000)
    c.heal()
    c.run_until(c.healthy, timeout_ms=30_000)


def key_on(c, node, prefix="key"):
    return next(f"{prefix}{i}" for i in range(10_000) if node.owns(c.command(node, "CLUSTER", "KEYSLOT", f"{prefix}{i}")))


def test_delay_slows_replication_acks():
    c = slotlab.Cluster(seed=10)
    p = c.primaries()[0]
    r = c.replicas_of(p)[0]
    key = key_on(c, p)

    def wait_ms():
        c.command(p, "SET", key, c.now_ms)
        t0 = c.now_ms
        assert c.command(p, "WAIT", 1, 10_000) == 1
        return c.now_ms - t0

    fast = wait_ms()
    c.delay(p, 400, to=r)          # one-way latency +400 ms both ways on the p <-> r link
    slow = wait_ms()
    c.delay(p, 0, to=r)
    c.run_for(1000)
    again = wait_ms()
    assert fast < 50 and again < 50, (fast, again)
    assert 800 <= slow < 2000, slow
    c.delay(p, 400)                # every link of p
    c.run_for(3000)
    assert c.healthy()             # far below node_timeout: nothing fails
    c.delay(p, 0)
    with pytest.raises(slotlab.ArgumentError, match=">= 0"):
        c.delay(0, -1)
    with pytest.raises(slotlab.ArgumentError, match="different"):
        c.delay(0, 5, to=0)


def test_long_delay_looks_like_a_failure():
    c = slotlab.Cluster(seed=12, node_timeout_ms=1000)
    p = c.primaries()[0]
    c.delay(p, 3000)   # every packet between p and the others takes 3 s more: pings time out
    c.run_until(lambda: any("fail" in n.flags or "fail?" in n.flags for n in c.nodes)
                or any(e["event"] == "pfail_marked" for e in c.events), timeout_ms=20_000)
    assert any(e["event"] == "pfail_marked" and e.get("about") == p.name for e in c.events)


def test_clock_skew_and_unsupported_drop_rate():
    c = slotlab.Cluster(seed=13)
    p = c.primaries()[1]
    key = key_on(c, p)
    assert c.command(p, "SET", key, "v", "EX", 600) == "OK"
    assert 590 <= c.command(p, "TTL", key) <= 600
    c.clock_skew(p, 3_600_000)     # p's wall clock jumps an hour ahead: the key has expired
    assert c.command(p, "GET", key) is None
    assert c.command(p, "SET", key, "v", "EX", 600) == "OK"
    c.clock_skew(p, 0)             # and back: the new key has almost an hour and 10 minutes left
    assert c.command(p, "TTL", key) > 3600
    c.run_for(5000)
    assert c.healthy()             # the bus does not compare wall clocks: skew alone breaks nothing
    with pytest.raises(slotlab.UnsupportedError, match="TCP semantics"):
        c.drop_rate(0, 0.1)


# --- admin operations -------------------------------------------------------------------------

def test_add_node_rebalance_and_del_node():
    c = slotlab.Cluster(seed=14, spares=2)
    assert [n.member for n in c.nodes] == [True] * 6 + [False] * 2
    new = c.nodes[6]
    r = c.add_node(new)
    assert len(r["id"]) == 40 and r["primary"] is None
    assert c.node(new).member and c.node(new).role == "primary" and not c.node(new).slots
    with pytest.raises(slotlab.StateError, match="already in the cluster"):
        c.add_node(new)
    rep = c.add_node(7, replica_of=new)
    assert rep["primary"] == new.name
    c.run_until(lambda: c.node(7).role == "replica" and c.node(7).primary == c.node(new).id, timeout_ms=30_000)
    sim = c.rebalance(use_empty_masters=True, simulate=True)
    assert sim["needed"] and sim["moved"] == 0 and sim["transfers"]
    assert c.node(new).slot_count == 0
    r = c.rebalance(use_empty_masters=True)
    assert r["moved"] > 3000
    c.run_until(c.healthy, timeout_ms=30_000)
    assert abs(c.node(new).slot_count - SLOTS // 4) <= SLOTS * 0.02 + 1
    assert covered(c.nodes) == SLOTS
    # del-node refuses a node with slots; a replica can go
    with pytest.raises(slotlab.Error):
        c.del_node(new)
    d = c.del_node(7)
    assert d["log"]
    assert not c.node(7).member
    with pytest.raises(slotlab.StateError, match="not in the cluster"):
        c.del_node(7)
    c.run_for(2000)
    assert all(r["passed"] for r in c.check()), c.check()


def test_manual_failover():
    c = slotlab.Cluster(seed=15)
    p = c.primaries()[0]
    r = c.replicas_of(p)[0]
    out = c.failover(r)
    assert out["old_primary"] == p.name and out["promoted_after_ms"] is not None
    assert c.node(r).role == "primary" and c.node(r).slots == p.slots
    c.run_until(lambda: c.node(p).role == "replica", timeout_ms=10_000)
    with pytest.raises(slotlab.StateError, match="not a replica"):
        c.failover(r)
    with pytest.raises(slotlab.ArgumentError):
        c.failover(p, force=True, takeover=True)
    # takeover, no wait
    out = c.failover(p, takeover=True, wait=False)
    assert out["promoted_after_ms"] is None
    c.run_until(lambda: c.node(p).role == "primary", timeout_ms=10_000)


def test_cluster_check_and_checkers(shared):
    rep = shared.cluster_check()
    assert rep["ok"] and rep["agree"] and not rep["uncovered_slots"] and not rep["open_slots"]
    assert any("All nodes agree" in line for line in rep["lines"])
    results = shared.check()
    assert [r["name"] for r in results] == list(slotlab.KNOWN_CHECKS)
    assert all(r["passed"] for r in results), results
    assert [r["name"] for r in shared.check("agreement")] == ["agreement"]
    with pytest.raises(slotlab.ArgumentError, match="unknown check"):
        shared.check("nope")


def test_checkers_see_a_dead_primary():
    c = slotlab.Cluster(seed=16, replicas=0)
    c.kill(0)
    c.run_for(10_000)
    failed = {r["name"] for r in c.check() if not r["passed"]}
    assert "cluster-state-ok" in failed  # no replica to take over: the cluster is down
    assert not c.healthy()
    with pytest.raises(slotlab.Error):
        c.reshard(1, 2, 10)  # redis-cli refuses to reshard a cluster with a failed node


def test_reshard_arguments(shared):
    with pytest.raises(slotlab.ArgumentError, match="slots must be"):
        shared.reshard("all", 0, 0)
    with pytest.raises(slotlab.ArgumentError):
        shared.reshard("all", 99, 10)


# --- records ----------------------------------------------------------------------------------

def test_events_and_trace_hash_are_deterministic():
    def run(seed):
        c = slotlab.Cluster(seed=seed)
        c.crash(c.primaries()[0])
        c.run_for(10_000)
        return c.trace_hash, c.events
    h1, e1 = run(21)
    h2, e2 = run(21)
    h3, _ = run(22)
    assert h1 == h2 and e1 == e2
    assert h1 != h3
    assert len(h1) == 16 and int(h1, 16) >= 0
    assert all({"t_ms", "node", "event"} <= e.keys() for e in e1)
    assert any(e["event"] == "promoted" for e in e1)


def test_closed_cluster_and_its_client_refuse_politely():
    c = slotlab.Cluster(seed=17)
    client = c.client()
    assert client.set("a", 1) == "OK"
    c.close()
    c.close()  # idempotent
    with pytest.raises(slotlab.StateError, match="closed"):
        c.now_ms
    with pytest.raises(slotlab.StateError, match="closed"):
        client.get("a")
    assert "closed" in repr(c)


def test_client_follows_ask_during_a_migration():
    c = slotlab.Cluster(seed=18)
    client = c.client()
    src, dst = c.primaries()[0], c.primaries()[1]
    key = key_on(c, src, "mig")
    slot = c.command(src, "CLUSTER", "KEYSLOT", key)
    assert client.set(key, "moving") == "OK" and client.last_served_by == src.name
    # redis-cli's slot move, stopped half way: the key is already on dst, the slot still on src
    assert c.command(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", src.id) == "OK"
    assert c.command(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst.id) == "OK"
    host, port = dst.address.split(":")
    assert c.command(src, "MIGRATE", host, port, key, 0, 5000) == "OK"
    with pytest.raises(slotlab.CommandError, match="^ASK "):
        c.command(src, "GET", key)
    assert client.get(key) == "moving"
    assert client.last_served_by == dst.name and client.last_redirects == 1
    # a new key of the slot (same hash) does not exist on src: ASK sends its SET to dst too
    fresh = "{" + key + "}new"
    assert c.command(src, "CLUSTER", "KEYSLOT", fresh) == slot
    assert client.set(fresh, "x") == "OK"
    assert client.last_served_by == dst.name and client.last_redirects == 1


def test_busy_cluster_refuses_other_threads():
    c = slotlab.Cluster(seed=19)
    errors = []

    def runner():
        try:
            c.run_for(3_000_000)   # ~50 simulated minutes: long enough to be caught running
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=runner)
    t.start()
    time.sleep(0.05)
    busy = None
    try:
        c.nodes
    except slotlab.StateError as e:
        busy = e
    t.join()
    assert not errors
    assert busy is not None and "in use by another thread" in str(busy)
    assert c.now_ms >= 3_000_000   # and usable again afterwards
    assert c.healthy()


def test_ctrl_c_interrupts_run_for(tmp_path):
    import os
    import subprocess
    import sys
    script = tmp_path / "spin.py"
    script.write_text("import slotlab, sys\n"
                      "c = slotlab.Cluster(seed=1)\n"
                      "print('running', flush=True)\n"
                      "try:\n"
                      "    c.run_for(10**12)\n"
                      "except KeyboardInterrupt:\n"
                      "    print('interrupted at', c.now_ms, flush=True)\n"
                      "    sys.exit(3)\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(slotlab.__file__)))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    assert p.stdout.readline().strip() == "running"
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 3, out
    assert out.startswith("interrupted at ")
    assert int(out.split()[-1]) > 0


def test_the_core_validates_names_itself(shared):
    # Even the private core never lets an unknown name reach the simulator (whose own checks are
    # assertions that would abort the interpreter).
    core = shared._core
    for call in (lambda: core.crash("n99"), lambda: core.node("bogus"), lambda: core.command("x", ["PING"], 0, False),
                 lambda: core.partition([["n1"], ["n77"]], False), lambda: core.delay("n1", "nope", 5),
                 lambda: core.clock_skew("zz", 1), lambda: core.reshard(["all"], "n42", 1),
                 lambda: core.add_node("q", ""), lambda: core.failover("q", "", True),
                 lambda: core.rebalance([("q", 1.0)], False, 2.0, True), lambda: core.del_node("q")):
        with pytest.raises(slotlab.ArgumentError, match="unknown node"):
            call()
    with pytest.raises(slotlab.ArgumentError):
        core.delay("n1", "n2", 10**17)
    with pytest.raises(slotlab.ArgumentError):
        slotlab.Cluster(command_timeout_ms=0)


def test_fix_closes_an_open_slot():
    c = slotlab.Cluster(seed=20)
    src, dst = c.primaries()[0], c.primaries()[1]
    slot = src.slots[0][0]
    # a migration abandoned half way: src says MIGRATING, dst knows nothing
    assert c.command(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst.id) == "OK"
    found = c.cluster_check()
    assert not found["ok"] and found["open_slots"] == [slot]
    assert any("migrating state" in e for e in found["errors"]), found["errors"]
    r = c.fix()
    assert r["ok"] and r["found"]["open_slots"] == [slot] and r["log"]
    assert c.cluster_check()["ok"]
    c.run_until(c.healthy, timeout_ms=10_000)


def test_add_node_as_any_replica_and_weighted_rebalance():
    c = slotlab.Cluster(seed=22, spares=1)
    out = c.add_node(6, replica=True)          # --cluster-slave without a master id
    assert out["primary"] in {p.name for p in c.primaries()}
    c.run_until(lambda: c.node(6).role == "replica", timeout_ms=30_000)
    p0 = c.primaries()[0]
    plan = c.rebalance({p0: 2.0}, simulate=True)   # p0 should hold half the slots
    assert plan["needed"] and plan["moved"] == 0
    assert all(t["target"] == p0.name for t in plan["transfers"])
    assert sum(t["slots"] for t in plan["transfers"]) > 2000
    assert c.node(p0).slot_count == p0.slot_count   # simulate moved nothing
