"""The LIF layer's compiled kernels are kept on disk: a second process loads them instead of compiling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# One forward and backward of a LIF layer, then the numba statistics of the kernels it ran.
SCRIPT = """
import json, torch
from qsnn.nn import LIF, _lif_kernels as k
lif = LIF(reset="subtract", membrane_bits=3, surrogate="atan")
x = torch.randn(3, 2, 40, requires_grad=True)
lif(x).sum().backward()
mod = k.kernels("subtract", "uniform", "atan", False, True)
fwd = k.kernels("subtract", "uniform", float32=True).forward
stats = [f.stats for f in (fwd, mod.backward)]
print(json.dumps({"hits": [sum(s.cache_hits.values()) for s in stats],
                  "misses": [sum(s.cache_misses.values()) for s in stats], "file": mod.__file__}))
"""


def _run(env) -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, check=True, capture_output=True,
                         text=True, timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_second_process_loads_the_kernels_from_disk(tmp_path):
    """The first process compiles (cache misses), the second only loads (hits, no misses); the kernels'
    files lie in the cache folder, outside the repository."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("NUMBA_CACHE_DIR", None)
    first = _run(env)
    second = _run(env)
    assert first["misses"] == [1, 1] and first["hits"] == [0, 0]
    assert second["hits"] == [1, 1] and second["misses"] == [0, 0]
    assert Path(second["file"]).is_relative_to(tmp_path)
