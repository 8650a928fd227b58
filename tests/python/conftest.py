# The slotlab pytest suite (issue 6): the Python package over the simulator and real processes.
# CTest runs it with PYTHONPATH=<build>/bindings/python and SLOTLAB_CLI / SLOTLAB_SOURCE_DIR set;
# by hand:
#   PYTHONPATH=build/bindings/python SLOTLAB_CLI=build/harness/slotlab /usr/bin/python3 -m pytest tests/python
import os
import pathlib

import pytest

pytest_plugins = ["slotlab.pytest_plugin"]

SOURCE_DIR = pathlib.Path(os.environ.get("SLOTLAB_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))


@pytest.fixture
def source_dir() -> pathlib.Path:
    return SOURCE_DIR


@pytest.fixture
def cli() -> str:
    path = os.environ.get("SLOTLAB_CLI", "")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("SLOTLAB_CLI (the slotlab binary) not given")
    return path
