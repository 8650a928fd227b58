# The pytest plugin: fixtures, --slotlab-seed, and the seed + reproduce command of a failure.
import os
import subprocess
import sys
import textwrap

import slotlab


def test_sim_cluster_fixture_uses_the_seed(sim_cluster, slotlab_seed):
    assert isinstance(sim_cluster, slotlab.Cluster)
    assert sim_cluster.seed == slotlab_seed
    assert len(sim_cluster.nodes) == 6 and sim_cluster.healthy()


def run_pytest(tmp_path, body, *args):
    test = tmp_path / "test_inner.py"
    test.write_text(textwrap.dedent(body))
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(slotlab.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "slotlab.pytest_plugin", "-p", "no:cacheprovider",
                        str(test), *args], capture_output=True, text=True, cwd=tmp_path, env=env)
    return p.returncode, p.stdout + p.stderr


def test_failure_report_names_seed_and_reproduce_command(tmp_path):
    code, out = run_pytest(tmp_path, """
        import pytest

        @pytest.mark.slotlab(masters=3, replicas=0)
        def test_fails(sim_cluster):
            assert len(sim_cluster.nodes) == 3
            sim_cluster.run_for(1234)
            assert sim_cluster.seed == 0, "deliberate failure"

        def test_passes(sim_cluster):
            assert sim_cluster.healthy()
    """, "--slotlab-seed", "42")
    assert code == 1, out
    assert "1 failed, 1 passed" in out
    assert "slotlab: seed 42" in out                       # header
    assert "seed: 42" in out
    assert "reproduce: " in out and "--slotlab-seed=42" in out and "test_inner.py::test_fails" in out
    assert "trace hash: " in out
    assert "last 15 events:" in out and "state_changed" in out
    # the passing test gets no slotlab section
    assert out.count("reproduce: ") == 1


def test_reproduce_command_reproduces(tmp_path):
    body = """
        def test_hash(sim_cluster):
            sim_cluster.crash(0)
            sim_cluster.run_for(5000)
            assert False, sim_cluster.trace_hash
    """
    _, first = run_pytest(tmp_path, body, "--slotlab-seed", "9")
    line = next(l for l in first.splitlines() if l.startswith("reproduce: "))
    hash_line = next(l for l in first.splitlines() if l.startswith("trace hash: "))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(slotlab.__file__)))
    p = subprocess.run(line[len("reproduce: "):], shell=True, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert hash_line in p.stdout


def test_bad_seed_option(tmp_path):
    code, out = run_pytest(tmp_path, "def test_x(slotlab_seed):\n    pass\n", "--slotlab-seed", "-3")
    assert code != 0 and "--slotlab-seed must be >= 0" in out
