"""One server without cluster mode: redis-cli fed on stdin, redis-benchmark with and without a
pipeline, CONFIG, and the process lifecycle (SIGTERM shuts down cleanly, DEBUG SEGFAULT really
crashes with SIGSEGV)."""
import re
import signal

import pytest

from conftest import REDIS_BENCHMARK, REDIS_CLI, make_cluster, run


@pytest.fixture(scope="module")
def lab(server, request):
    c = make_cluster(server, request)
    return c


def test_redis_cli_script_on_stdin(lab):
    (p,) = lab.spawn(1, cluster=False)
    script = "SET a 1\nINCRBY a 41\nGET a\nRPUSH l x y z\nLRANGE l 0 -1\nHSET h f v\nHGETALL h\nDEL a l h\nDBSIZE\n"
    r = run([REDIS_CLI, "-p", str(p.port)], input=script, check=True)
    assert r.stdout.split("\n")[:-1] == ["OK", "42", "42", "3", "x", "y", "z", "1", "f", "v", "3", "0"]
    assert lab.cli(p, "CONFIG", "GET", "cluster-enabled").splitlines() == ["cluster-enabled", "no"]
    assert lab.cli(p, "CLUSTER", "INFO") == "ERR This instance has cluster support disabled"
    p.stop()
    assert p.popen.returncode == 0


@pytest.mark.parametrize("pipeline", [1, 16])
def test_benchmark_standalone(lab, pipeline):
    (p,) = lab.spawn(1, cluster=False)
    r = run([REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(p.port), "-t", "set,get,ping", "-n", "20000",
             "-c", "50", "-P", str(pipeline), "-q"], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    rates = dict(re.findall(r"^(SET|GET|PING_INLINE|PING_MBULK): ([\d.]+) requests per second",
                            r.stdout.replace("\r", "\n"), re.M))
    assert set(rates) == {"SET", "GET", "PING_INLINE", "PING_MBULK"}, r.stdout
    assert all(float(v) > 1000 for v in rates.values())
    # The benchmark's keys are really there.
    assert len(lab.cli(p, "GET", "key:__rand_int__")) == 3  # -d defaults to 3-byte values
    p.stop()


def test_sigterm_and_debug_segfault(lab):
    p, q = lab.spawn(2, cluster=True)
    p.stop(signal.SIGTERM)
    assert p.popen.returncode == 0
    assert "ready to exit, bye bye" in p.log_tail()
    # nodes.conf survives and the node restarts with the same id.
    with open(f"{p.dir}/nodes.conf") as f:
        myself = [line.split()[0] for line in f if "myself" in line]
    p.start()
    assert lab.node_id(p) == myself[0]
    lab.cli(q, "DEBUG", "SEGFAULT")  # no reply: the connection drops with the process
    q.popen.wait(timeout=10)
    assert q.popen.returncode == -signal.SIGSEGV
    assert "crashed by signal" in q.log_tail(100000)
