"""Tests of qsnn.book.results.glue: values stored for the prose the way MyST-NB's glue stores them."""

import numpy as np
import pytest

from qsnn.book import results


@pytest.fixture
def shown(monkeypatch):
    """What glue hands to IPython's display: (data, metadata) per call."""
    import IPython.display

    calls = []
    monkeypatch.setattr(IPython.display, "display", lambda data, raw, metadata: calls.append((data, metadata)))
    return calls


def test_glue_writes_myst_nb_s_hidden_glue_output(shown):
    """One display of the value's text under MyST-NB's hidden MIME prefix, named in metadata.scrapbook."""
    assert results.glue("acc", 0.5) == 0.5
    data, metadata = shown[0]
    assert data == {"application/papermill.record/text/plain": "0.5"}
    assert metadata == {"scrapbook": {"name": "acc", "mime_prefix": "application/papermill.record/"}}


def test_glue_matches_myst_nb_glue(shown, monkeypatch):
    """For plain values the output is the one myst_nb.glue(name, value, display=False) writes."""
    glue_module = pytest.importorskip("myst_nb.ext.glue")
    theirs = []
    monkeypatch.setattr(glue_module, "ipy_display", lambda data, raw, metadata: theirs.append((data, metadata)))
    for value in (3, 0.25, "not reproduced", True):
        results.glue("x", value)
        glue_module.glue("x", value, display=False)
    assert shown == theirs


def test_numpy_values_become_plain_and_floats_are_rounded(shown):
    """np.float64 is stored as a plain float (the {glue:text} role cannot format "np.float64(...)"), rounded to
    six significant digits so that the last bits of a machine's arithmetic do not reach the notebook."""
    assert results.glue("a", np.float64(0.123456789)) == 0.123457
    assert results.glue("b", np.int64(7)) == 7
    assert results.glue("c", 1 / 3, digits=None) == 1 / 3
    assert [d["application/papermill.record/text/plain"] for d, _ in shown] == ["0.123457", "7", repr(1 / 3)]


def test_glue_all_prefixes_names(shown):
    """glue_all stores every item under prefix + name."""
    assert results.glue_all({"mean": 1.0, "ci": "[-1, +2]"}, prefix="d_") == {"d_mean": 1.0, "d_ci": "[-1, +2]"}
    assert [m["scrapbook"]["name"] for _, m in shown] == ["d_mean", "d_ci"]


@pytest.mark.parametrize("name", ["a:b", "1x", "", "a b"])
def test_bad_names_are_rejected(shown, name):
    """A name the {glue:text} role could not read (a colon starts its format spec) is rejected."""
    with pytest.raises(ValueError, match="glue name"):
        results.glue(name, 1)


def test_only_single_values_are_glued(shown):
    """A list or dict has no place in a sentence: glue one number, string or bool per name."""
    with pytest.raises(ValueError, match="one number"):
        results.glue("x", [1, 2])
