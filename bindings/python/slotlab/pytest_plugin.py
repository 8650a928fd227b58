"""pytest plugin for slotlab: ``pytest -p slotlab.pytest_plugin`` (or, in a conftest.py,
``pytest_plugins = ["slotlab.pytest_plugin"]``).

Fixtures:
  ``slotlab_seed``  the run's seed: ``--slotlab-seed N`` (default: $SLOTLAB_SEED, else 1).
  ``sim_cluster``   a healthy simulated :class:`slotlab.Cluster` built from that seed.
  ``real_cluster``  a :class:`slotlab.RealCluster` of real processes (``--slotlab-server``,
                    default slotlab-node), stopped when the test ends, pass or fail.

Both clusters are 3 primaries with 1 replica each and node_timeout_ms=2000 unless the test says
otherwise with ``@pytest.mark.slotlab(masters=5, replicas=2, node_timeout_ms=..., spares=...)``.

When a test that used a slotlab fixture fails, its report gets a "slotlab" section with the seed,
the simulated time, the trace hash, the last events of the timeline and the command that
reproduces the failure.
"""

from __future__ import annotations

import os
import shlex
import sys

import pytest

import slotlab

_DEFAULTS = {"masters": 3, "replicas": 1, "node_timeout_ms": 2000}


def pytest_addoption(parser):
    group = parser.getgroup("slotlab")
    group.addoption("--slotlab-seed", action="store", type=int, default=None, metavar="N",
                    help="seed of the slotlab fixtures (default: $SLOTLAB_SEED, else 1)")
    group.addoption("--slotlab-server", action="store", default=None, metavar="BINARY",
                    help="server of the real_cluster fixture: slotlab-node (default) or a path "
                         "such as /usr/bin/redis-server")


def pytest_configure(config):
    config.addinivalue_line("markers",
                            "slotlab(masters=3, replicas=1, node_timeout_ms=2000, spares=0, config=None): "
                            "shape of the sim_cluster / real_cluster fixtures")


def _seed(config) -> int:
    v = config.getoption("--slotlab-seed", default=None)
    if v is None:
        env = os.environ.get("SLOTLAB_SEED")
        v = int(env) if env else 1
    if v < 0:
        raise pytest.UsageError("--slotlab-seed must be >= 0")
    return v


def _shape(request) -> dict:
    kw = dict(_DEFAULTS)
    marker = request.node.get_closest_marker("slotlab")
    if marker is not None:
        kw.update(marker.kwargs)
    return kw


@pytest.fixture
def slotlab_seed(request) -> int:
    seed = _seed(request.config)
    request.node._slotlab = {"seed": seed, "cluster": None}
    return seed


def _remember(request, cluster) -> None:
    info = getattr(request.node, "_slotlab", None) or {}
    info["cluster"] = cluster
    info["seed"] = cluster.seed
    request.node._slotlab = info


@pytest.fixture
def sim_cluster(request, slotlab_seed):
    """A healthy simulated cluster (closed after the test)."""
    c = slotlab.Cluster(seed=slotlab_seed, **_shape(request))
    _remember(request, c)
    try:
        yield c
    finally:
        request.node._slotlab["final"] = _state(c)
        c.close()


@pytest.fixture
def real_cluster(request, slotlab_seed):
    """A cluster of real processes on free loopback ports, always stopped after the test."""
    server = request.config.getoption("--slotlab-server", default=None) or "slotlab-node"
    if server == "slotlab-node":
        binary = slotlab._core.default_node_binary()
        if not binary or not os.access(binary, os.X_OK):
            pytest.skip("slotlab-node is not built")
    elif not os.access(server, os.X_OK):
        pytest.skip(f"{server} is not installed")
    c = slotlab.RealCluster(seed=slotlab_seed, server=server, **_shape(request))
    _remember(request, c)
    try:
        yield c
    finally:
        request.node._slotlab["final"] = _state(c)
        c.close()


def _state(c) -> dict:
    try:
        events = c.events[-_LAST_EVENTS:]
        return {"now_ms": c.now_ms, "trace_hash": c.trace_hash, "kind": "sim" if c.simulated else "real",
                "events": events}
    except slotlab.Error:
        return {}


_LAST_EVENTS = 15


def _event_line(e: dict) -> str:
    extra = "".join(f" {k}={e[k]}" for k in ("about", "epoch", "value", "detail") if k in e)
    return f"  {e['t_ms']:>9} ms {e['node']:<4} {e['event']}{extra}"


def reproduce_command(item, seed: int) -> str:
    """The command line that reruns one test with the same seed."""
    args = [sys.executable, "-m", "pytest", "-p", "slotlab.pytest_plugin", item.nodeid, f"--slotlab-seed={seed}"]
    server = item.config.getoption("--slotlab-server", default=None)
    if server:
        args.append(f"--slotlab-server={server}")
    return " ".join(shlex.quote(a) for a in args)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    info = getattr(item, "_slotlab", None)
    if info is None or not report.failed:
        return
    seed = info["seed"]
    state = info.get("final") or (_state(info["cluster"]) if info.get("cluster") is not None else {})
    lines = [f"seed: {seed}"]
    if state.get("now_ms") is not None:
        lines.append(f"world time at the end: {state['now_ms']} ms ({state.get('kind')})")
    if state.get("trace_hash"):
        lines.append(f"trace hash: {state['trace_hash']}")
    if state.get("events"):
        lines.append(f"last {len(state['events'])} events:")
        lines.extend(_event_line(e) for e in state["events"])
    lines.append("reproduce: " + reproduce_command(item, seed))
    text = "\n".join(lines)
    report.sections.append(("slotlab", text))
    report.user_properties.append(("slotlab_seed", seed))
    report.user_properties.append(("slotlab_reproduce", reproduce_command(item, seed)))


def pytest_report_header(config):
    return f"slotlab: seed {_seed(config)} (--slotlab-seed)"
