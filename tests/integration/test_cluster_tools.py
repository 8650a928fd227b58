"""redis-cli --cluster, redis-cli -c and redis-py's RedisCluster against a real 3+3 cluster.

The tests of this module share one cluster per server kind and run in file order: create, check,
keys, info, call, set-timeout, reshard, ASK/MOVED, live reshard, rebalance, add-node, del-node,
fix. Each one asserts what an operator would see (tool exit status and output, keys readable).
"""
import re
import threading
import time

import pytest
import redis
from redis.cluster import RedisCluster, ClusterNode

from conftest import info_field, make_cluster, wait_until

NKEYS = 300


@pytest.fixture(scope="module")
def lab(server, request):
    c = make_cluster(server, request)
    c.spawn(6)
    c.spares = c.spawn(2)  # for add-node
    c.main = c.procs[:6]
    return c


def rc_client(lab, proc=None):
    p = proc or lab.main[0]
    return RedisCluster(host="127.0.0.1", port=p.port, password=lab.password, socket_timeout=10)


def key_slot(lab, key):
    return int(lab.cli(lab.main[0], "CLUSTER", "KEYSLOT", key))


def slot_owner(lab, slot):
    for n in lab.nodes(lab.main[0]):
        if "master" not in n["flags"]:
            continue
        for r in n["raw"].split()[8:]:
            if r.startswith("["):
                continue
            a, _, b = r.partition("-")
            if int(a) <= slot <= int(b or a):
                return n
    return None


def check_ok(lab, proc):
    r = lab.tool("check", proc.addr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[OK] All nodes agree about slots configuration." in r.stdout
    assert "[OK] All 16384 slots covered." in r.stdout
    return r.stdout


def test_create(lab):
    r = lab.tool("create", *[p.addr for p in lab.main], "--cluster-replicas", "1", "--cluster-yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[OK] All 16384 slots covered." in r.stdout
    lab.wait_state_ok(lab.main)
    lab.wait_agree(lab.main)
    nodes = lab.nodes(lab.main[0])
    masters = [n for n in nodes if "master" in n["flags"]]
    replicas = [n for n in nodes if "slave" in n["flags"]]
    assert len(masters) == 3 and len(replicas) == 3
    assert sorted(n["slots"] for n in masters) == [5461, 5461, 5462]
    assert sorted(r["master"] for r in replicas) == sorted(m["id"] for m in masters)
    lab.wait_replicas_synced(lab.main)


def test_check(lab):
    out = check_ok(lab, lab.main[3])
    assert out.count("slots:") >= 6
    assert len(re.findall(r"^M: ", out, re.M)) == 3 and len(re.findall(r"^S: ", out, re.M)) == 3


def test_redis_cli_follows_moved(lab):
    # Every node answers for every key through -c, whichever node owns it.
    for i, p in enumerate(lab.main[:3]):
        assert lab.cli(p, "SET", f"cli:{i}", f"v{i}", cluster_mode=True) == "OK"
    for p in lab.main[:3]:
        for i in range(3):
            assert lab.cli(p, "GET", f"cli:{i}", cluster_mode=True) == f"v{i}"
    # Without -c the owner sends MOVED with the slot and the owner's address.
    slot = key_slot(lab, "cli:0")
    owner = slot_owner(lab, slot)
    other = lab.proc_by_addr(next(n["addr"] for n in lab.masters(lab.main[0]) if n["id"] != owner["id"]))
    assert lab.cli(other, "GET", "cli:0") == f"MOVED {slot} {owner['addr']}"


def test_redispy_reads_writes_pipeline(lab):
    rc = rc_client(lab)
    for i in range(NKEYS):
        assert rc.set(f"key:{i}", f"value:{i}")
    assert [rc.get(f"key:{i}") for i in range(0, NKEYS, 7)] == [f"value:{i}".encode() for i in range(0, NKEYS, 7)]
    pipe = rc.pipeline()
    for i in range(100):
        pipe.set(f"pipe:{i}", i)
        pipe.incr(f"pipe:{i}")
    results = pipe.execute()
    assert results == [x for i in range(100) for x in (True, i + 1)]
    pipe = rc.pipeline()
    for i in range(100):
        pipe.get(f"pipe:{i}")
    assert pipe.execute() == [str(i + 1).encode() for i in range(100)]
    assert rc.delete(*[f"pipe:{i}" for i in range(100)]) == 100
    rc.close()


def test_info_counts_keys(lab):
    r = lab.tool("info", lab.main[0].addr)
    assert r.returncode == 0, r.stdout + r.stderr
    total = NKEYS + 3  # key:* and cli:*
    assert f"[OK] {total} keys in 3 masters." in r.stdout
    per_master = [int(m) for m in re.findall(r"-> (\d+) keys \| \d+ slots \| 1 slaves\.", r.stdout)]
    assert len(per_master) == 3 and sum(per_master) == total


def test_call(lab):
    r = lab.tool("call", lab.main[0].addr, "DBSIZE")
    assert r.returncode == 0, r.stdout + r.stderr
    assert ">>> Calling DBSIZE" in r.stdout
    sizes = dict(re.findall(r"^(127\.0\.0\.1:\d+): (\d+)$", r.stdout, re.M))
    assert set(sizes) == {p.addr for p in lab.main}
    # Replicas hold copies: every node answers, the masters' sizes add up to the key count.
    master_addrs = {n["addr"] for n in lab.masters(lab.main[0])}
    wait_until(lambda: sum(int(v) for a, v in dict(re.findall(
        r"^(127\.0\.0\.1:\d+): (\d+)$", lab.tool("call", lab.main[0].addr, "DBSIZE").stdout, re.M)).items()) ==
        2 * (NKEYS + 3), what="replicas to hold every key")
    assert sum(int(sizes[a]) for a in master_addrs) == NKEYS + 3


def test_set_timeout(lab):
    r = lab.tool("set-timeout", lab.main[0].addr, "3000")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "New node timeout set. 6 OK, 0 ERR." in r.stdout
    for p in lab.main:
        assert lab.cli(p, "CONFIG", "GET", "cluster-node-timeout").splitlines() == ["cluster-node-timeout", "3000"]


def test_reshard_with_keys(lab):
    masters = sorted(lab.masters(lab.main[0]), key=lambda n: n["addr"])
    src, dst = masters[0], masters[1]
    r = lab.tool("reshard", lab.main[0].addr, "--cluster-from", src["id"], "--cluster-to", dst["id"],
                 "--cluster-slots", "1000", "--cluster-yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Moving slot" in r.stdout
    lab.wait_agree(lab.main)
    after = {n["id"]: n["slots"] for n in lab.masters(lab.main[0])}
    assert after[src["id"]] == src["slots"] - 1000
    assert after[dst["id"]] == dst["slots"] + 1000
    check_ok(lab, lab.main[0])
    rc = rc_client(lab)
    assert all(rc.get(f"key:{i}") == f"value:{i}".encode() for i in range(NKEYS))
    rc.close()


def test_redispy_follows_ask_and_moved(lab):
    """A slot half-migrated by hand: redis-py reads both halves (ASK), then follows MOVED."""
    rc = rc_client(lab)
    tag = "{askme}"
    slot = key_slot(lab, tag)
    keys = [f"{tag}:{i}" for i in range(10)]
    for k in keys:
        rc.set(k, k.upper())
    src_node = slot_owner(lab, slot)
    dst_node = next(n for n in lab.masters(lab.main[0]) if n["id"] != src_node["id"])
    src, dst = lab.proc_by_addr(src_node["addr"]), lab.proc_by_addr(dst_node["addr"])
    assert lab.cli(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", src_node["id"]) == "OK"
    assert lab.cli(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst_node["id"]) == "OK"
    host, port = dst_node["addr"].split(":")
    assert lab.cli(src, "MIGRATE", host, port, "", 0, 5000, "KEYS", *keys[:5]) == "OK"
    # Without -c, a migrated key answers ASK from the source.
    assert lab.cli(src, "GET", keys[0]) == f"ASK {slot} {dst_node['addr']}"
    assert [rc.get(k) for k in keys] == [k.upper().encode() for k in keys]
    rc.set(f"{tag}:new", "fresh")  # a new key in a migrating slot goes to the target (ASK)
    assert lab.cli(dst, "ASKING") == "OK"
    # Finish the move the way redis-cli does, then redis-py must follow MOVED.
    assert lab.cli(src, "MIGRATE", host, port, "", 0, 5000, "KEYS", *keys[5:]) == "OK"
    for p in (dst, src):
        assert lab.cli(p, "CLUSTER", "SETSLOT", slot, "NODE", dst_node["id"]) == "OK"
    for p in lab.main:
        if p not in (src, dst):
            lab.cli(p, "CLUSTER", "SETSLOT", slot, "NODE", dst_node["id"])
    assert lab.cli(src, "GET", keys[0]) == f"MOVED {slot} {dst_node['addr']}"
    assert [rc.get(k) for k in keys] == [k.upper().encode() for k in keys]
    assert rc.get(f"{tag}:new") == b"fresh"
    assert int(lab.cli(dst, "CLUSTER", "COUNTKEYSINSLOT", slot)) == 11
    rc.close()
    lab.wait_agree(lab.main)


def test_live_reshard_under_redispy_traffic(lab):
    """redis-cli reshards 500 slots while redis-py writes and reads: no error reaches the client."""
    masters = sorted(lab.masters(lab.main[0]), key=lambda n: n["addr"])
    src, dst = masters[2], masters[0]
    errors, done, ops = [], threading.Event(), [0]

    def traffic():
        rc = rc_client(lab, lab.main[1])
        i = 0
        try:
            while not done.is_set():
                k = f"live:{i % 2000}"
                rc.set(k, i)
                got = rc.get(k)
                if got != str(i).encode():
                    errors.append(f"{k}: wrote {i}, read {got!r}")
                i += 1
        except Exception as e:  # noqa: BLE001 - any error is a failure of the test
            errors.append(repr(e))
        finally:
            ops[0] = i
            rc.close()

    t = threading.Thread(target=traffic)
    t.start()
    try:
        time.sleep(0.5)
        r = lab.tool("reshard", lab.main[0].addr, "--cluster-from", src["id"], "--cluster-to", dst["id"],
                     "--cluster-slots", "500", "--cluster-yes", "--cluster-pipeline", "5")
        time.sleep(0.5)
    finally:
        done.set()
        t.join(timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert errors == []
    assert ops[0] > 100
    lab.wait_agree(lab.main)
    check_ok(lab, lab.main[0])


def test_rebalance(lab):
    before = sorted(n["slots"] for n in lab.masters(lab.main[0]))
    assert before[-1] - before[0] > 500  # the reshards left it unbalanced
    r = lab.tool("rebalance", lab.main[0].addr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Rebalancing across 3 nodes" in r.stdout
    lab.wait_agree(lab.main)
    after = sorted(n["slots"] for n in lab.masters(lab.main[0]))
    assert sum(after) == 16384 and after[-1] - after[0] <= 2 * 16384 // 100
    check_ok(lab, lab.main[0])
    rc = rc_client(lab)
    assert all(rc.get(f"key:{i}") == f"value:{i}".encode() for i in range(NKEYS))
    rc.close()


def test_add_node_primary_and_replica(lab):
    new_primary, new_replica = lab.spares
    r = lab.tool("add-node", new_primary.addr, lab.main[0].addr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[OK] New node added correctly." in r.stdout
    members = lab.main + [new_primary]
    lab.wait_agree(members)
    pid = lab.node_id(new_primary)
    r = lab.tool("add-node", new_replica.addr, lab.main[0].addr, "--cluster-slave", "--cluster-master-id", pid)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[OK] New node added correctly." in r.stdout
    members = members + [new_replica]
    lab.wait_agree(members)
    me = [n for n in lab.nodes(new_replica) if "myself" in n["flags"]][0]
    assert "slave" in me["flags"] and me["master"] == pid
    lab.wait_replicas_synced([new_replica])
    # Give the new primary slots: rebalance with empty masters moves about a quarter of them.
    r = lab.tool("rebalance", lab.main[0].addr, "--cluster-use-empty-masters")
    assert r.returncode == 0, r.stdout + r.stderr
    lab.wait_agree(members)
    owned = {n["id"]: n["slots"] for n in lab.masters(lab.main[0])}
    assert owned[pid] >= 16384 // 4 - 16384 // 50
    check_ok(lab, lab.main[0])
    rc = rc_client(lab)
    assert all(rc.get(f"key:{i}") == f"value:{i}".encode() for i in range(NKEYS))
    rc.close()


def test_del_node(lab):
    new_primary, new_replica = lab.spares
    pid, rid = lab.node_id(new_primary), lab.node_id(new_replica)
    # A replica can go at once.
    r = lab.tool("del-node", lab.main[0].addr, rid)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SHUTDOWN" in r.stdout or "RESET" in r.stdout
    # A primary must be emptied first: its weight 0 moves its slots away (keys included).
    r = lab.tool("rebalance", lab.main[0].addr, "--cluster-weight", f"{pid}=0")
    assert r.returncode == 0, r.stdout + r.stderr
    lab.wait_agree(lab.main + [new_primary])
    # Emptied, it owns nothing (Redis 7.0 then turns it into a replica of a slot taker:
    # cluster-allow-replica-migration).
    assert [n["slots"] for n in lab.nodes(lab.main[0]) if n["id"] == pid] == [0]
    r = lab.tool("del-node", lab.main[0].addr, pid)
    assert r.returncode == 0, r.stdout + r.stderr
    lab.wait_agree(lab.main)
    for p in lab.main:
        ids = {n["id"] for n in lab.nodes(p)}
        assert pid not in ids and rid not in ids
    check_ok(lab, lab.main[0])
    rc = rc_client(lab)
    assert all(rc.get(f"key:{i}") == f"value:{i}".encode() for i in range(NKEYS))
    rc.close()


def test_fix_open_slot_and_uncovered_slot(lab):
    masters = sorted(lab.masters(lab.main[0]), key=lambda n: n["addr"])
    # 1. An open slot: migrating on its owner, importing on another master, one key moved.
    tag = "{fixme}"
    slot = key_slot(lab, tag)
    rc = rc_client(lab)
    for i in range(4):
        rc.set(f"{tag}:{i}", i)
    rc.close()
    owner = slot_owner(lab, slot)
    other = next(n for n in masters if n["id"] != owner["id"])
    src, dst = lab.proc_by_addr(owner["addr"]), lab.proc_by_addr(other["addr"])
    lab.cli(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", owner["id"])
    lab.cli(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", other["id"])
    host, port = other["addr"].split(":")
    assert lab.cli(src, "MIGRATE", host, port, f"{tag}:0", 0, 5000) == "OK"
    r = lab.tool("check", lab.main[0].addr)
    assert r.returncode != 0 and "open slot" in r.stdout.lower()
    r = lab.tool("fix", lab.main[0].addr)
    assert r.returncode == 0, r.stdout + r.stderr
    lab.wait_agree(lab.main)
    check_ok(lab, lab.main[0])
    # 2. An uncovered slot (every node forgets its owner; no keys in it): fix assigns it.
    empty_slot = next(s for s in range(16384)
                      if int(lab.cli(lab.proc_by_addr(slot_owner(lab, s)["addr"]), "CLUSTER", "COUNTKEYSINSLOT", s)) == 0)
    for p in lab.main:
        lab.cli(p, "CLUSTER", "DELSLOTS", empty_slot)
    wait_until(lambda: "[ERR] Not all 16384 slots are covered by nodes." in lab.tool("check", lab.main[0].addr).stdout,
               what="check to see the uncovered slot")
    r = lab.tool("fix", lab.main[0].addr, input="yes\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Fixing slots coverage" in r.stdout
    lab.wait_agree(lab.main)
    check_ok(lab, lab.main[0])
    rc = rc_client(lab)
    assert [rc.get(f"{tag}:{i}") for i in range(4)] == [str(i).encode() for i in range(4)]
    assert all(rc.get(f"key:{i}") == f"value:{i}".encode() for i in range(NKEYS))
    rc.close()


def test_benchmark_cluster(lab):
    from conftest import REDIS_BENCHMARK, run
    r = run([REDIS_BENCHMARK, "--cluster", "-h", "127.0.0.1", "-p", str(lab.main[0].port), "-t", "set,get",
             "-n", "20000", "-c", "20", "-q"], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    rates = dict(re.findall(r"^(SET|GET): ([\d.]+) requests per second", r.stdout.replace("\r", "\n"), re.M))
    assert set(rates) == {"SET", "GET"}, r.stdout
    assert all(float(v) > 1000 for v in rates.values())
