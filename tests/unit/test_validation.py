"""The shared argument checks and the one YAML/override reader."""

import math

import numpy as np
import pytest

from qsnn._core.resets import RESET_CODES, RESET_LABELS, RESETS
from qsnn._core.validation import check_bool, check_choice, check_int, check_real
from qsnn._core.yamlio import parse_overrides, read_mapping


def test_check_int_accepts_integers_and_numpy_integers():
    """Integers pass through as int, numpy 0-d integers too."""
    assert check_int("n", 3) == 3 and check_int("n", np.int64(4)) == 4 and check_int("n", np.array(5)) == 5


@pytest.mark.parametrize("value", [True, 2.0, "3", None, np.float64(1.0)])
def test_check_int_refuses_non_integers(value):
    """Booleans, floats, strings and None are refused with the argument's name."""
    with pytest.raises(ValueError, match="n must be an integer"):
        check_int("n", value)


def test_check_int_bounds_are_inclusive_and_named():
    """min/max are inclusive; the message states the range."""
    assert check_int("n", 1, min=1, max=1) == 1
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 4\], got 5"):
        check_int("n", 5, min=1, max=4)


def test_check_real_ranges_open_and_closed():
    """Closed and open bounds, NaN and inf are handled as stated."""
    assert check_real("x", 0, min=0) == 0.0
    with pytest.raises(ValueError, match=r"x must be a finite real number > 0"):
        check_real("x", 0, min=0, min_open=True)
    with pytest.raises(ValueError, match="x must be"):
        check_real("x", math.nan)
    with pytest.raises(ValueError, match="x must be"):
        check_real("x", math.inf)
    assert check_real("x", math.inf, finite=False) == math.inf
    with pytest.raises(ValueError, match="x must be a real number"):
        check_real("x", "1.0")


def test_check_choice_and_bool():
    """Choices list the allowed values; bools refuse 0/1."""
    assert check_choice("reset", "mod", RESETS) == "mod"
    with pytest.raises(ValueError, match=r"reset must be one of \('zero', 'subtract', 'mod'\), got 'hard'"):
        check_choice("reset", "hard", RESETS)
    with pytest.raises(ValueError, match="one of"):
        check_choice("reset", ["unhashable"], RESETS)
    assert check_bool("b", True) is True
    with pytest.raises(ValueError, match="b must be true or false"):
        check_bool("b", 1)


def test_reset_tables_agree():
    """Names, kernel codes and labels cover the same three resets."""
    assert tuple(RESET_CODES) == RESETS == tuple(RESET_LABELS)
    assert sorted(RESET_CODES.values()) == [0, 1, 2]


def test_overrides_read_yaml_12_floats_and_nesting():
    """1e-3 is a number (YAML 1.2), dotted keys nest, an empty value is None."""
    got = parse_overrides(["lr=1e-3", "model_kwargs.widths=[8, 16]", "model_kwargs.bits=2", "x=", "n=10"])
    assert got == {"lr": 1e-3, "model_kwargs": {"widths": [8, 16], "bits": 2}, "x": None, "n": 10}
    assert isinstance(got["n"], int)


@pytest.mark.parametrize("item", ["novalue", "=3", "a..b=1", "x=[1,"])
def test_overrides_refuse_malformed_items(item):
    """A missing '=', an empty key part or malformed YAML is a ValueError naming the item."""
    with pytest.raises(ValueError, match="--set"):
        parse_overrides([item])


def test_read_mapping_names_a_non_utf8_file(tmp_path):
    """A configuration that is not UTF-8 gets a message naming the file."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.yaml is not UTF-8"):
        read_mapping(path, "configuration file")


def test_read_mapping_reads_exponent_floats(tmp_path):
    """A file's lr: 1e-3 is a float, as in the override parser."""
    path = tmp_path / "c.yaml"
    path.write_text("lr: 1e-3\nepochs: 2\n", encoding="utf-8")
    assert read_mapping(path) == {"lr": 1e-3, "epochs": 2}
