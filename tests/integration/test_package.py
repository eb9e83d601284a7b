"""Tests of the top-level qsnn namespace: every exported name resolves, Part II loads lazily."""

import subprocess
import sys

import pytest

import qsnn


def test_every_name_in_all_resolves():
    """Each name in qsnn.__all__ is an attribute of the package."""
    missing = [name for name in qsnn.__all__ if not hasattr(qsnn, name)]
    assert missing == []


def test_part_two_names_are_the_submodules_own():
    """qsnn.model_size, qsnn.fit and qsnn.nn are the objects of their defining modules."""
    import qsnn.nn
    import qsnn.size
    import qsnn.train

    assert qsnn.model_size is qsnn.size.model_size
    assert qsnn.fit is qsnn.train.fit
    assert qsnn.nn.LIF.__module__ == "qsnn.nn.neurons"


def test_part_two_is_loaded_only_on_first_use():
    """import qsnn does not import torch; touching qsnn.model_size does."""
    code = ("import sys, qsnn; before = 'torch' in sys.modules; qsnn.model_size; "
            "print(before, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_unknown_attribute_raises_attribute_error():
    """A misspelt name gives AttributeError, not an import of something else."""
    with pytest.raises(AttributeError, match="no attribute 'modle_size'"):
        qsnn.modle_size  # noqa: B018


PART_ONE_CALLS = (
    "import sys, qsnn\n"
    "eta = qsnn.SpikeTrain([0, 1, 2], [0.8, 0.9, 2.4])\n"
    "qsnn.lif(eta, threshold=1.0, alpha=0.0, reset='mod')\n"
    "qsnn.alexiewicz_norm(eta, alpha=1.0)\n"
    "t, a = qsnn.random_trains(8, 5, seed=0)\n"
    "qsnn.quantization_error_batch(t, a, 1.0, 1.0, 'mod')\n"
)


def _loaded_after(code: str) -> set[str]:
    """Top-level module names in sys.modules after running ``code`` in a fresh interpreter."""
    code += "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_part_one_loads_neither_torch_nor_sympy():
    """import qsnn plus the Part I functions (lif, the norm, the batched error) import no torch, no sympy."""
    loaded = _loaded_after(PART_ONE_CALLS)
    assert "numpy" in loaded and "numba" in loaded
    # scipy and yaml are not in the list: numba itself imports them when they are installed (its linear
    # algebra, its configuration file).
    assert not loaded & {"torch", "sympy", "tonic", "papermill", "matplotlib", "sklearn"}


def test_sympy_loads_with_qsnn_symbolic_only():
    """qsnn.symbolic is a lazy name: touching it imports sympy (and still not torch)."""
    loaded = _loaded_after(PART_ONE_CALLS + "qsnn.symbolic\n")
    assert "sympy" in loaded and "torch" not in loaded
    assert "symbolic" in dir(qsnn)
