"""One bad client must not take the node down, and SIGTERM saves: protocol errors, idle timeout
(output-buffer limits: test_output_buffer_limits.py), SIGTERM with save points writing dump.rdb that a restart loads."""
import os
import signal
import socket
import time

import pytest
import redis

from conftest import make_cluster, wait_until


@pytest.fixture(scope="module")
def lab(server, request):
    return make_cluster(server, request)


@pytest.fixture(scope="module")
def node(lab):
    (p,) = lab.spawn(1, cluster=False)
    return p


def raw_exchange(port, payload, wait_s=1.0):
    """Sends raw bytes, returns (what came back, whether the server closed the connection)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait_s)
    s.sendall(payload)
    data, closed = b"", False
    deadline = time.time() + wait_s
    try:
        while time.time() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except socket.timeout:
        pass
    finally:
        s.close()
    return data, closed


@pytest.mark.parametrize("payload,reply", [
    (b"*1\r\n$9999999999\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\nfoo\r\n", b"-ERR Protocol error: expected '$', got 'f'\r\n"),
    (b'SET "a b\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
])
def test_protocol_errors_close_the_connection(lab, node, payload, reply):
    data, closed = raw_exchange(node.port, payload)
    assert data == reply
    assert closed
    assert lab.cli(node, "PING") == "PONG"


def test_idle_timeout(lab, node):
    assert lab.cli(node, "CONFIG", "SET", "timeout", "1") == "OK"
    try:
        s = socket.create_connection(("127.0.0.1", node.port), timeout=10)
        s.sendall(b"PING\r\n")
        assert s.recv(100) == b"+PONG\r\n"
        t0 = time.time()
        assert s.recv(100) == b""  # closed by the server
        assert 0.9 <= time.time() - t0 < 5
        s.close()
    finally:
        lab.cli(node, "CONFIG", "SET", "timeout", "0")


def test_sigterm_saves_and_restart_loads(lab):
    (p,) = lab.spawn(1, cluster=False, extra=["--save", "3600 1"])
    r = redis.Redis(port=p.port)
    for i in range(100):
        r.set(f"persist:{i}", i)
    r.close()
    p.stop(signal.SIGTERM)
    assert p.popen.returncode == 0
    assert os.path.exists(os.path.join(p.dir, "dump.rdb"))
    p.start()
    r = redis.Redis(port=p.port)
    wait_until(lambda: r.dbsize() == 100, timeout=10, what="dump.rdb to load")
    assert r.get("persist:42") == b"42"
    r.close()


@pytest.mark.parametrize("how", ["SAVE", "NOSAVE"])
def test_shutdown_save_and_nosave(lab, how):
    (p,) = lab.spawn(1, cluster=False)  # save "" : no save points
    r = redis.Redis(port=p.port)
    r.set("k", "v")
    r.close()
    lab.cli(p, "SHUTDOWN", how)  # no reply: the server exits
    p.popen.wait(timeout=10)
    assert p.popen.returncode == 0
    assert os.path.exists(os.path.join(p.dir, "dump.rdb")) == (how == "SAVE")


def test_kill_9_never_leaves_an_unreadable_nodes_conf(lab):
    """SIGKILL while the node rewrites nodes.conf as fast as a client can make it: every restart
    loads the file and keeps the node's identity."""
    (p,) = lab.spawn(1, cluster=True)
    myid = lab.node_id(p)
    for round_ in range(5):
        r = redis.Redis(port=p.port)
        stop = time.time() + 0.2 + 0.05 * round_
        n = 0
        while time.time() < stop:  # each ADDSLOTS/DELSLOTS saves nodes.conf
            r.execute_command("CLUSTER", "ADDSLOTS", n % 16384)
            r.execute_command("CLUSTER", "DELSLOTS", n % 16384)
            n += 1
        r.execute_command("CLUSTER", "ADDSLOTS", 1, 2, 3)
        p.popen.send_signal(signal.SIGKILL)  # at once, while its writes are in flight
        p.popen.wait()
        r.close()
        p.start()
        assert lab.node_id(p) == myid
        # ADDSLOTS was answered, so its nodes.conf save had happened: the slots survived.
        mine = [line for line in lab.cli(p, "CLUSTER", "NODES").splitlines() if "myself" in line][0]
        assert mine.split()[8:] == ["1-3"]
        assert lab.cli(p, "CLUSTER", "DELSLOTS", 1, 2, 3) == "OK"
