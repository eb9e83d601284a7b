"""Tests of qsnn.book.results: atomic JSON of a chapter's headline numbers."""

import json

import numpy as np
import pytest

from qsnn.book import results


def test_save_then_load_round_trips_numpy_values(tmp_path):
    """Numpy scalars and arrays are stored as plain JSON numbers and lists."""
    path = results.save("02_x", {"max": np.float64(0.5), "grid": np.arange(3), "n": np.int64(7)}, tmp_path)
    assert path == tmp_path / "02_x.json"
    assert results.load("02_x", tmp_path) == {"max": 0.5, "grid": [0, 1, 2], "n": 7}


def test_non_finite_floats_become_null(tmp_path):
    """JSON has no NaN: non-finite values are stored as null, and the file stays valid JSON."""
    results.save("a", {"x": float("nan"), "y": [np.inf]}, tmp_path)
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": None, "y": [None]}


def test_unstorable_value_leaves_no_file(tmp_path):
    """A value with no JSON form raises before anything is written."""
    with pytest.raises(TypeError, match="object"):
        results.save("b", {"x": object()}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file_and_no_temporary(tmp_path, monkeypatch):
    """An interrupted write leaves the previous file intact and no temporary file behind."""
    results.save("c", {"v": 1}, tmp_path)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("qsnn._core.atomic.os.replace", broken)
    with pytest.raises(OSError):
        results.save("c", {"v": 2}, tmp_path)
    assert results.load("c", tmp_path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


@pytest.mark.parametrize("name", ["", "../escape", "a/b", None])
def test_bad_name_is_rejected(tmp_path, name):
    """A name that is not a plain stem raises ValueError naming the argument."""
    with pytest.raises(ValueError, match="name"):
        results.save(name, {}, tmp_path)


def test_missing_results_file_says_how_to_make_it(tmp_path):
    """Loading results of a chapter never executed says which command produces them."""
    with pytest.raises(FileNotFoundError, match="make run"):
        results.load("nope", tmp_path)
