"""client-output-buffer-limit per class, as redis-server does it: the CONFIG GET/SET format, a
normal client that never reads its replies dropped at the hard limit and at the soft limit after
soft-seconds (logged like Redis), and a replica that stops reading dropped at the replica limit,
after which it resyncs by itself.

Not tested: the pubsub class (slotlab-node implements no SUBSCRIBE; its limits are only stored)."""
import os
import signal
import socket
import time

import pytest
import redis

from conftest import make_cluster, wait_until

DEFAULT = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
CLOSED_LOG = "scheduled to be closed ASAP for overcoming of output buffer limits."  # when output is queued
CRON_CLOSED_LOG = "closed for overcoming of output buffer limits."  # from the cron (the soft limit's time)


@pytest.fixture(scope="module")
def lab(server, request):
    return make_cluster(server, request)


def node_log(p):
    with open(os.path.join(p.dir, "node.log"), errors="replace") as f:
        return f.read()


def flood_without_reading(port, n_gets, hold_s):
    """Asks for n_gets copies of the 100 kB key "big" and reads nothing for hold_s seconds, then
    drains. Returns (bytes received, whether the server closed the connection)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET big\r\n" * n_gets)
    time.sleep(hold_s)
    got, closed = 0, False
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                closed = True
                break
            got += len(chunk)
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    s.close()
    return got, closed


def test_config_get_set_format(lab):
    (p,) = lab.spawn(1, cluster=False)
    r = redis.Redis(port=p.port, decode_responses=True)
    assert r.execute_command("CONFIG", "GET", "client-output-buffer-limit") == ["client-output-buffer-limit", DEFAULT]
    # Each group sets one class; "replica" is the alias of "slave"; memory units are accepted.
    assert r.execute_command("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 512kb 2 replica 300mb 70mb 30")
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == \
        "normal 1048576 524288 2 slave 314572800 73400320 30 pubsub 33554432 8388608 60"
    assert r.execute_command("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 0 0")
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == \
        "normal 1048576 524288 2 slave 314572800 73400320 30 pubsub 0 0 0"
    for bad, why in [("normal 1 2", "Wrong number of arguments in buffer limit configuration."),
                     ("master 1 2 3", "Invalid client class specified in buffer limit configuration."),
                     ("normal x 2 3", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
                     ("normal 1 2 -3", "Error in hard, soft or soft_seconds setting in buffer limit configuration.")]:
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command("CONFIG", "SET", "client-output-buffer-limit", bad)
        assert str(e.value) == \
            f"CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - {why}"
    # A refused SET changed nothing.
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == \
        "normal 1048576 524288 2 slave 314572800 73400320 30 pubsub 0 0 0"
    r.close()
    p.stop()


def test_config_file_lines(lab):
    (p,) = lab.spawn(1, cluster=False, extra=["--client-output-buffer-limit", "normal 2mb 1mb 5",
                                             "--client-output-buffer-limit", "slave 512mb 128mb 120"])
    r = redis.Redis(port=p.port, decode_responses=True)
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == \
        "normal 2097152 1048576 5 slave 536870912 134217728 120 pubsub 33554432 8388608 60"
    r.close()
    p.stop()


def test_normal_client_hard_limit(lab):
    (p,) = lab.spawn(1, cluster=False)
    r = redis.Redis(port=p.port)
    r.set("big", b"x" * 100_000)
    # Under the default (no limit for normal clients) the same flood is served in full.
    got, closed = flood_without_reading(p.port, 100, 0.5)
    assert got >= 100 * 100_000 and not closed
    assert r.execute_command("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0")
    got, closed = flood_without_reading(p.port, 300, 1.5)  # 30 MB of replies
    assert closed
    assert got < 300 * 100_000 // 2  # dropped long before the end
    assert r.ping() and len(r.get("big")) == 100_000  # everyone else is fine
    wait_until(lambda: CLOSED_LOG in node_log(p), timeout=5, what="the output-buffer log line")
    line = [l for l in node_log(p).splitlines() if CLOSED_LOG in l][0]
    assert " Client id=" in line and " addr=127.0.0.1:" in line and " omem=" in line
    r.close()
    p.stop()


def test_normal_client_soft_limit(lab):
    (p,) = lab.spawn(1, cluster=False)
    r = redis.Redis(port=p.port)
    r.set("big", b"x" * 100_000)
    # Over 1 MB for more than 1 second: closed, though far below any hard limit.
    assert r.execute_command("CONFIG", "SET", "client-output-buffer-limit", "normal 0 1mb 1")
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    s.sendall(b"GET big\r\n" * 300)
    t0 = time.time()
    # Still connected for the first second.
    time.sleep(0.5)
    assert any(f"addr={s.getsockname()[0]}:{s.getsockname()[1]} " in l
               for l in r.execute_command("CLIENT", "LIST").decode().splitlines())
    wait_until(lambda: CRON_CLOSED_LOG in node_log(p), timeout=10, what="the soft limit to close the client")
    assert CLOSED_LOG not in node_log(p)  # closed by the cron, not while queueing
    assert time.time() - t0 >= 1.0
    got = 0
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
    except ConnectionResetError:
        pass
    s.close()
    assert got < 300 * 100_000 // 2
    assert r.ping()
    r.close()
    p.stop()


def test_replica_over_its_limit_is_dropped_and_resyncs(lab):
    primary, replica = lab.spawn(2, cluster=True)
    rp = redis.Redis(port=primary.port)
    rp.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
    rp.execute_command("CLUSTER", "MEET", "127.0.0.1", replica.port)
    lab.wait_agree([primary, replica])
    rr = redis.Redis(port=replica.port, single_connection_client=True)
    rr.execute_command("CLUSTER", "REPLICATE", lab.node_id(primary))
    lab.wait_replicas_synced([replica])
    # The replica limit (raised to repl-backlog-size, 1 MB, as Redis does).
    assert rp.execute_command("CONFIG", "SET", "client-output-buffer-limit", "replica 1mb 0 0")
    replica.popen.send_signal(signal.SIGSTOP)  # it stops reading its link
    try:
        value = b"v" * 100_000
        pipe = rp.pipeline(transaction=False)
        for i in range(400):  # 40 MB of replication stream
            pipe.set(f"k{{a}}{i}", value)
        pipe.execute()
        wait_until(lambda: CLOSED_LOG in node_log(primary), timeout=20, what="the replica link to be dropped")
    finally:
        replica.popen.send_signal(signal.SIGCONT)
    log = node_log(primary)
    line = [l for l in log.splitlines() if CLOSED_LOG in l][0]
    assert "flags=S" in line  # the replica's client, by its class
    assert "Connection with replica" in log
    # The replica reconnects and catches up with a new sync.
    wait_until(lambda: rr.info("replication").get("master_link_status") == "up", timeout=60,
               what="the replica to resync")
    wait_until(lambda: rr.dbsize() == 400, timeout=60, what="the replica to have every key")
    assert rr.execute_command("READONLY") and len(rr.get("k{a}7")) == 100_000
    rp.close()
    rr.close()
    primary.stop()
    replica.stop()
