"""Passwords in cluster mode: requirepass + masterauth on every node, the tools given -a.

Replication must authenticate (masterauth), MIGRATE during a reshard must authenticate (redis-cli
passes AUTH to MIGRATE), and clients without the password are refused.
"""
import re

import pytest
from redis.cluster import RedisCluster

from conftest import info_field, make_cluster, wait_until

PASSWORD = "s3cret-pw"
NKEYS = 200


@pytest.fixture(scope="module")
def lab(server, request):
    c = make_cluster(server, request, password=PASSWORD)
    c.spawn(6)
    c.main = c.procs
    return c


def test_create_with_password(lab):
    r = lab.tool("create", *[p.addr for p in lab.main], "--cluster-replicas", "1", "--cluster-yes")
    assert r.returncode == 0, r.stdout + r.stderr
    lab.wait_state_ok(lab.main)
    lab.wait_agree(lab.main)
    # masterauth: every replica completed its sync with its password-protected primary.
    lab.wait_replicas_synced(lab.main)
    roles = [info_field(lab.cli(p, "INFO", "replication"), "role") for p in lab.main]
    assert sorted(roles) == ["master"] * 3 + ["slave"] * 3


def test_clients_need_the_password(lab):
    p = lab.main[0]
    assert lab.cli(p, "PING", password="") == "NOAUTH Authentication required."
    assert lab.cli(p, "CLUSTER", "INFO", password="").startswith("NOAUTH")
    assert lab.cli(p, "AUTH", "wrong", password="") == "WRONGPASS invalid username-password pair or user is disabled."
    assert lab.cli(p, "PING") == "PONG"
    assert lab.cli(p, "SET", "pw:key", "x", cluster_mode=True) == "OK"
    assert lab.cli(lab.main[1], "GET", "pw:key", cluster_mode=True) == "x"


def test_redispy_with_password(lab):
    rc = RedisCluster(host="127.0.0.1", port=lab.main[0].port, password=PASSWORD, socket_timeout=10)
    for i in range(NKEYS):
        rc.set(f"k:{i}", i)
    assert [rc.get(f"k:{i}") for i in range(NKEYS)] == [str(i).encode() for i in range(NKEYS)]
    rc.close()


def test_reshard_migrates_with_auth(lab):
    masters = sorted(lab.masters(lab.main[0]), key=lambda n: n["addr"])
    src, dst = masters[0], masters[1]
    r = lab.tool("reshard", lab.main[0].addr, "--cluster-from", src["id"], "--cluster-to", dst["id"],
                 "--cluster-slots", "2000", "--cluster-yes")
    assert r.returncode == 0, r.stdout + r.stderr
    lab.wait_agree(lab.main)
    after = {n["id"]: n["slots"] for n in lab.masters(lab.main[0])}
    assert after[dst["id"]] == dst["slots"] + 2000
    r = lab.tool("check", lab.main[0].addr)
    assert r.returncode == 0, r.stdout
    rc = RedisCluster(host="127.0.0.1", port=lab.main[2].port, password=PASSWORD, socket_timeout=10)
    assert [rc.get(f"k:{i}") for i in range(NKEYS)] == [str(i).encode() for i in range(NKEYS)]
    rc.close()
    # The replicas followed: the masters' and replicas' key counts both add up.
    def sizes():
        r = lab.tool("call", lab.main[0].addr, "DBSIZE")
        return [int(v) for v in re.findall(r"^127\.0\.0\.1:\d+: (\d+)$", r.stdout, re.M)]
    wait_until(lambda: len(sizes()) == 6 and sum(sizes()) == 2 * (NKEYS + 1), what="replicas to hold every key")
