# slotlab.run_scenario: the same result as `slotlab run --json`, and its failure paths.
import json
import subprocess

import pytest

import slotlab


def cli_json(cli, path, seed, *extra):
    p = subprocess.run([cli, "run", str(path), "--seed", str(seed), "--json", *extra], capture_output=True, text=True)
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout)


def test_same_result_as_the_cli(cli, source_dir):
    path = source_dir / "scenarios" / "segfault-master.json"
    ours = slotlab.run_scenario(path, seed=3)
    assert ours == cli_json(cli, path, 3)
    assert ours["passed"] and ours["seed"] == 3 and ours["world"] == "sim"
    assert ours["failovers"][0]["ms_to_promotion"] > 0


def test_params_are_drawn_from_the_seed_as_the_cli_draws_them(cli, source_dir):
    path = source_dir / "scenarios" / "random-faults.json"
    ours = slotlab.run_scenario(path, seed=4)
    assert ours == cli_json(cli, path, 4)
    assert {"victim", "pause_ms", "split"} <= ours["params"].keys()
    assert slotlab.run_scenario(json.loads(path.read_text()), seed=4)["params"] == ours["params"]
    assert slotlab.run_scenario(path, seed=5)["params"] != ours["params"]


def test_timeline_matches_the_cli(cli, source_dir):
    path = source_dir / "scenarios" / "segfault-master.json"
    ours = slotlab.run_scenario(str(path), seed=5, timeline=True)
    assert ours == cli_json(cli, path, 5, "--timeline")
    assert ours["timeline"] and {"t_ms", "node", "event"} <= ours["timeline"][0].keys()


def test_dict_and_overrides(source_dir):
    doc = json.loads((source_dir / "scenarios" / "segfault-master.json").read_text())
    a = slotlab.run_scenario(doc, seed=2)
    b = slotlab.run_scenario(source_dir / "scenarios" / "segfault-master.json", seed=2)
    assert a == b
    # overrides merge into the scenario: 4 primaries instead of 3
    c = slotlab.run_scenario(doc, seed=2, topology={"primaries": 4}, name="four")
    assert c["scenario"] == "four" and c["passed"]
    assert c["trace_hash"] != a["trace_hash"]
    d = slotlab.run_scenario(source_dir / "scenarios" / "segfault-master.json", seed=2, name="renamed")
    assert d["scenario"] == "renamed" and d["trace_hash"] == a["trace_hash"]


def test_a_failing_scenario_is_a_result_not_an_exception():
    doc = {"name": "impossible", "topology": {"primaries": 3, "replicas": 0},
           "steps": [{"do": "create"},
                     {"do": "crash", "node": "n1"},
                     {"do": "wait-until", "condition": "failed-over", "node": "@last", "timeout_ms": 5000}],
           "final_checks": ["slot-coverage"]}
    r = slotlab.run_scenario(doc, seed=1)
    assert not r["passed"]
    assert "failed-over" in r["failure"] and "5000 ms" in r["failure"]
    assert [s["ok"] for s in r["steps"]] == [True, True, False]


def test_bad_scenarios_raise_scenario_error(tmp_path):
    with pytest.raises(slotlab.ScenarioError, match=r"steps\[0\]"):
        slotlab.run_scenario({"name": "x", "topology": {"primaries": 3, "replicas": 0}, "steps": [{"do": "fly"}]})
    with pytest.raises(slotlab.ScenarioError, match="timeout_ms"):
        slotlab.run_scenario({"name": "x", "topology": {"primaries": 3, "replicas": 0}, "steps": [
            {"do": "create"}, {"do": "wait-until", "condition": "healthy", "timeout_ms": -1}]})
    with pytest.raises(slotlab.ScenarioError, match="topology"):
        slotlab.run_scenario({"name": "x", "steps": []})
    with pytest.raises(slotlab.ScenarioError, match="cannot open"):
        slotlab.run_scenario(tmp_path / "missing.json")
    with pytest.raises(slotlab.ScenarioError, match="missing.json"):
        slotlab.run_scenario(tmp_path / "missing.json", name="x")
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(slotlab.ScenarioError):
        slotlab.run_scenario(bad)
    with pytest.raises(slotlab.ScenarioError, match="not valid JSON"):
        slotlab.run_scenario(bad, name="x")
    with pytest.raises(ValueError):  # ScenarioError is a ValueError
        slotlab.run_scenario({"steps": "no"})


OK = {"name": "ok", "topology": {"primaries": 3, "replicas": 0}, "steps": [{"do": "create"}]}


def test_bad_arguments():
    with pytest.raises(slotlab.ArgumentError, match="world"):
        slotlab.run_scenario(OK, world="mars")
    with pytest.raises(slotlab.ArgumentError, match="seed"):
        slotlab.run_scenario(OK, seed=-1)
    with pytest.raises(slotlab.ArgumentError, match="not an executable"):
        slotlab.run_scenario(OK, world="/nonexistent/redis-server")


def test_signal_interrupts_a_scenario():
    import signal
    import time

    class Stop(Exception):
        pass

    def handler(signum, frame):
        raise Stop()

    doc = {"name": "long", "topology": {"primaries": 3, "replicas": 0}, "steps": [{"do": "create"}, {"do": "sleep", "duration_ms": 86_400_000}]}
    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        start = time.monotonic()
        with pytest.raises(Stop):
            slotlab.run_scenario(doc)
        assert time.monotonic() - start < 10
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert slotlab.run_scenario(OK)["passed"]


def test_scenario_in_the_real_world_with_redis_server():
    import os
    if not os.access("/usr/bin/redis-server", os.X_OK):
        pytest.skip("redis-server not installed")
    doc = {"name": "real", "topology": {"primaries": 3, "replicas": 0, "config": {"cluster-node-timeout": 1000}},
           "steps": [{"do": "create"}, {"do": "wait-until", "condition": "healthy", "timeout_ms": 30000},
                     {"do": "cluster-check"}],
           "final_checks": ["slot-coverage", "agreement"]}
    r = slotlab.run_scenario(doc, world="real", server="/usr/bin/redis-server")
    assert r["world"] == "real" and r["passed"], r["failure"]
    assert r["trace_hash"] is None
    with pytest.raises(slotlab.ArgumentError, match="server needs world='real'"):
        slotlab.run_scenario(doc, server="/usr/bin/redis-server")


def test_scenario_in_the_real_world_with_slotlab_node(cli, source_dir):
    # The same file the CLI runs with --world real; real timing differs run to run, the shape not.
    path = source_dir / "scenarios" / "segfault-master.json"
    r = slotlab.run_scenario(path, world="real", seed=2)
    assert r["world"] == "real" and r["passed"], r["failure"]
    assert r["failovers"][0]["promoted_node"] is not None
