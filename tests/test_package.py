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
