"""Integration tests: stock Redis tools against real server processes on loopback.

Every test that takes the `server` fixture runs twice: against slotlab-node and against Debian's
/usr/bin/redis-server (the control). A test that fails on redis-server is a wrong test; one that
fails only on slotlab-node is a node bug.

Processes are started with subprocess.Popen in their own temporary directories and stopped by
their PID in teardown (SIGTERM, then SIGKILL after a grace period). Nothing else is ever signalled.

Options (also settable through the environment, for CTest):
  --slotlab-node PATH    the slotlab-node binary (env SLOTLAB_NODE)
  --servers LIST         comma-separated subset of slotlab-node,redis-server (env SLOTLAB_SERVERS)
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*m")
REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"
REDIS_BENCHMARK = "/usr/bin/redis-benchmark"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def pytest_addoption(parser):
    parser.addoption("--slotlab-node", default=os.environ.get("SLOTLAB_NODE", ""))
    parser.addoption("--servers", default=os.environ.get("SLOTLAB_SERVERS", "slotlab-node,redis-server"))
    parser.addoption("--slotlab-cli", default=os.environ.get("SLOTLAB_CLI", ""))


def _slotlab_node_path(config):
    path = config.getoption("--slotlab-node")
    if path:
        return path
    for cand in ("build-a", "build"):
        p = os.path.join(REPO, cand, "daemon", "slotlab-node")
        if os.path.exists(p):
            return p
    return ""


def pytest_generate_tests(metafunc):
    if "server" in metafunc.fixturenames:
        kinds = [k.strip() for k in metafunc.config.getoption("--servers").split(",") if k.strip()]
        metafunc.parametrize("server", kinds, indirect=True, scope="module")


@pytest.fixture(scope="module")
def server(request):
    """The binary under test: {"kind": ..., "path": ...}."""
    kind = request.param
    if kind == "redis-server":
        path = REDIS_SERVER
    elif kind == "slotlab-node":
        path = _slotlab_node_path(request.config)
    else:
        raise pytest.UsageError(f"unknown server kind {kind}")
    if not path or not os.path.exists(path):
        pytest.fail(f"{kind} binary not found ({path!r}); pass --slotlab-node")
    return {"kind": kind, "path": path}


# ---------------------------------------------------------------------------------------------
# Ports and processes

_used_ports = set()


def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_cluster_port():
    """A port P in 20000..29999 (below the ephemeral range) with P and P+10000 (the bus) free."""
    rng = random.Random(os.getpid() ^ int(time.time() * 1000))
    for _ in range(500):
        p = rng.randrange(20000, 30000)
        if p in _used_ports:
            continue
        if _port_free(p) and _port_free(p + 10000):
            _used_ports.add(p)
            return p
    raise RuntimeError("no free port pair found")


def free_port_block(n):
    """A base port P in 20000..29990 with P..P+n-1 and their bus ports free (RealWorld numbering)."""
    rng = random.Random(os.getpid() ^ int(time.time() * 1000) ^ 0x5eed)
    for _ in range(500):
        p = rng.randrange(20000, 30000 - n)
        block = range(p, p + n)
        if any(q in _used_ports for q in block):
            continue
        if all(_port_free(q) and _port_free(q + 10000) for q in block):
            _used_ports.update(block)
            return p
    raise RuntimeError("no free port block found")


@pytest.fixture(scope="session")
def slotlab_cli(request):
    path = request.config.getoption("--slotlab-cli")
    if not path:
        for cand in ("build-a", "build"):
            p = os.path.join(REPO, cand, "harness", "slotlab")
            if os.path.exists(p):
                path = p
                break
    if not path or not os.path.exists(path):
        pytest.fail("the slotlab CLI was not found; pass --slotlab-cli")
    return path


class Proc:
    """One server process: its own directory, its own port, stopped by PID."""

    def __init__(self, binary, base_dir, cluster=True, extra=()):
        self.binary = binary
        self.port = free_cluster_port()
        self.dir = os.path.join(base_dir, str(self.port))
        os.makedirs(self.dir, exist_ok=True)
        # A real config file (CONFIG REWRITE, used by `--cluster set-timeout`, needs one).
        directives = [("port", str(self.port)), ("bind", "127.0.0.1"), ("dir", self.dir),
                      ("logfile", "node.log"), ("daemonize", "no"), ("save", '""'), ("appendonly", "no"),
                      ("enable-debug-command", "yes")]
        if cluster:
            directives += [("cluster-enabled", "yes"), ("cluster-config-file", "nodes.conf"),
                           ("cluster-node-timeout", "2000")]
        extra = list(extra)
        while extra:
            directives.append((extra[0].lstrip("-"), extra[1]))
            extra = extra[2:]
        self.conf = os.path.join(self.dir, "redis.conf")
        with open(self.conf, "w") as f:
            f.write("".join(f"{k} {v}\n" for k, v in directives))
        args = [binary, self.conf]
        self.args = args
        self.popen = None
        self.start()

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.popen = subprocess.Popen(self.args, cwd=self.dir, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.binary} exited at start-up ({self.popen.returncode}): {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.binary} on {self.port} did not start listening within 15 s")

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def stop(self, sig=signal.SIGTERM, grace_s=10):
        if not self.alive():
            return
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def log_tail(self, n=30):
        text = ""
        for name in ("stdout.log", "node.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += "".join(f.readlines()[-n:])
            except OSError:
                pass
        return text


def run(argv, timeout=120, input=None, check=False):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"{argv} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def cli(port, *args, password=None, cluster_mode=False, timeout=60):
    """redis-cli against 127.0.0.1:port; returns stdout without the trailing newline."""
    argv = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(port)]
    if password:
        argv += ["-a", password, "--no-auth-warning"]
    if cluster_mode:
        argv.append("-c")
    r = run(argv + [str(a) for a in args], timeout=timeout)
    return r.stdout.rstrip("\n")


def cluster_tool(*args, password=None, timeout=180, input=None):
    """redis-cli --cluster SUBCOMMAND ...; returns the CompletedProcess."""
    argv = [REDIS_CLI]
    if password:
        argv += ["-a", password, "--no-auth-warning"]
    argv += ["--cluster"] + [str(a) for a in args]
    r = run(argv, timeout=timeout, input=input)
    # redis-cli colours its --cluster output even into a pipe; the tests read plain text.
    r.stdout = ANSI.sub("", r.stdout)
    return r


def wait_until(pred, timeout=30, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # a node may refuse connections while it settles
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def info_field(text, field):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


class Cluster:
    """A set of processes of one server kind; the helpers used by the tests."""

    def __init__(self, server, password=None):
        self.server = server
        self.password = password
        self.base_dir = tempfile.mkdtemp(prefix=f"slotlab-it-{server['kind']}-")
        self.procs = []

    def spawn(self, n=1, cluster=True, extra=()):
        extra = list(extra)
        if self.password:
            extra += ["--requirepass", self.password, "--masterauth", self.password]
        new = [Proc(self.server["path"], self.base_dir, cluster=cluster, extra=extra) for _ in range(n)]
        self.procs += new
        return new

    def cli(self, proc, *args, **kw):
        kw.setdefault("password", self.password)
        return cli(proc.port, *args, **kw)

    def tool(self, *args, **kw):
        kw.setdefault("password", self.password)
        return cluster_tool(*args, **kw)

    def node_id(self, proc):
        return self.cli(proc, "CLUSTER", "MYID")

    def nodes(self, proc):
        """CLUSTER NODES as a list of dicts."""
        out = []
        for line in self.cli(proc, "CLUSTER", "NODES").splitlines():
            f = line.split()
            if len(f) < 8:
                continue
            slots = 0
            for r in f[8:]:
                if r.startswith("["):
                    continue
                a, _, b = r.partition("-")
                slots += (int(b) - int(a) + 1) if b else 1
            out.append({"id": f[0], "addr": f[1].split("@")[0], "flags": f[2].split(","), "master": f[3],
                        "link": f[7], "slots": slots, "raw": line})
        return out

    def masters(self, via):
        return [n for n in self.nodes(via) if "master" in n["flags"] and "fail" not in n["flags"]]

    def proc_by_addr(self, addr):
        for p in self.procs:
            if p.addr == addr:
                return p
        raise KeyError(addr)

    def wait_state_ok(self, procs, timeout=30):
        for p in procs:
            wait_until(lambda p=p: info_field(self.cli(p, "CLUSTER", "INFO"), "cluster_state") == "ok",
                       timeout=timeout, what=f"cluster_state:ok on {p.addr}")

    def wait_agree(self, procs, timeout=30):
        """Every node of `procs` knows all of them, all links connected, same slot map."""
        def agreed():
            sigs = set()
            for p in procs:
                ns = self.nodes(p)
                if len(ns) != len(procs):
                    return False
                if any(n["link"] != "connected" for n in ns) or any(
                        f in n["flags"] for n in ns for f in ("handshake", "noaddr", "fail?", "fail")):
                    return False
                sigs.add(tuple(sorted((n["id"], n["slots"]) for n in ns if "master" in n["flags"])))
            return len(sigs) == 1
        wait_until(agreed, timeout=timeout, interval=0.2, what="nodes to agree on the configuration")

    def wait_replicas_synced(self, procs, timeout=30):
        for p in procs:
            def synced(p=p):
                info = self.cli(p, "INFO", "replication")
                return info_field(info, "role") == "master" or info_field(info, "master_link_status") == "up"
            wait_until(synced, timeout=timeout, what=f"replication link up on {p.addr}")

    def stop_all(self):
        for p in self.procs:
            p.stop()

    def logs(self):
        return "\n".join(f"--- {p.addr} ({'alive' if p.alive() else 'exited'})\n{p.log_tail(15)}" for p in self.procs)


def make_cluster(server, request, password=None):
    c = Cluster(server, password=password)

    def fin():
        c.stop_all()
        failed = getattr(request.node, "_slotlab_failed", False)
        if failed or os.environ.get("SLOTLAB_KEEP_DIRS"):
            print(f"\nkept {c.base_dir}\n{c.logs()}")
        else:
            shutil.rmtree(c.base_dir, ignore_errors=True)
    request.addfinalizer(fin)
    return c


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        # Remember on the module so module-scoped clusters keep their logs.
        setattr(item.module, "_slotlab_failed", True)
        parent = item.parent
        while parent is not None:
            setattr(parent, "_slotlab_failed", True)
            parent = parent.parent
