"""Tests of qsnn.checkpoint: atomic writes, safe loading, RNG-state round trips."""

import os
import random

import numpy as np
import pytest
import torch

from qsnn.checkpoint import (
    CorruptCheckpointError,
    UnsafeCheckpointError,
    atomic_write,
    atomic_write_text,
    get_rng_state,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)

_EXECUTED = []


def _side_effect(tag):
    _EXECUTED.append(tag)
    return tag


class _Payload:
    """An object whose unpickling would call a function: what a hostile file would do."""

    def __reduce__(self):
        return (_side_effect, ("pwned",))


def test_atomic_write_text_writes_content(tmp_path):
    """atomic_write_text leaves exactly the new content and no temporary file."""
    target = tmp_path / "sub" / "m.json"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert os.listdir(target.parent) == ["m.json"]


def test_atomic_write_failure_keeps_previous_file(tmp_path):
    """An exception inside the block leaves the old file intact and no partial file behind."""
    target = tmp_path / "ckpt.pt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write(b"partial")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_save_checkpoint_failure_leaves_no_file(tmp_path):
    """A state that cannot be serialised halfway through leaves neither target nor temp file."""
    target = tmp_path / "last.pt"
    with pytest.raises(Exception):
        save_checkpoint({"w": torch.ones(1000), "bad": lambda: 0}, target)
    assert os.listdir(tmp_path) == []


def test_checkpoint_round_trip(tmp_path):
    """Tensors, numbers, strings, None and nested containers survive save + safe load."""
    state = {"w": torch.arange(6.0).view(2, 3), "epoch": 3, "name": "x", "h": [{"a": 0.5, "b": None}]}
    load = load_checkpoint(save_checkpoint(state, tmp_path / "c.pt"))
    assert torch.equal(load["w"], state["w"])
    assert load["epoch"] == 3 and load["name"] == "x" and load["h"] == [{"a": 0.5, "b": None}]


def test_load_refuses_pickled_object_without_running_it(tmp_path):
    """A checkpoint holding a non-allowed pickled object is refused and its code never runs."""
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "extra": _Payload()}, path)
    _EXECUTED.clear()
    with pytest.raises(UnsafeCheckpointError, match="refusing to load"):
        load_checkpoint(path)
    assert _EXECUTED == []


def test_load_missing_file_raises(tmp_path):
    """A missing checkpoint raises FileNotFoundError naming the path."""
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")


def test_rng_state_round_trip_through_safe_load(tmp_path):
    """RNG states saved and safely reloaded reproduce the torch, NumPy and Python streams."""
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    np.random.randn()  # leave a cached Gaussian in NumPy's state
    random.gauss(0, 1)
    path = save_checkpoint({"rng": get_rng_state()}, tmp_path / "r.pt")
    first = (torch.rand(5), np.random.randn(5), [random.gauss(0, 1) for _ in range(5)])
    set_rng_state(load_checkpoint(path)["rng"])
    second = (torch.rand(5), np.random.randn(5), [random.gauss(0, 1) for _ in range(5)])
    assert torch.equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[2] == second[2]


def _damage(kind: str, good: bytes) -> bytes:
    if kind == "empty":
        return b""
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "truncated-tail":
        return good[:-30]
    if kind == "zeroed":
        return bytes(len(good))
    if kind == "random":
        return np.random.default_rng(0).bytes(len(good))
    if kind == "random-pickle-marker":  # starts like a pickle, then noise
        return b"\x80\x02" + np.random.default_rng(1).bytes(len(good))
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("empty", "the file is empty"),
        ("truncated", "the file is truncated or damaged"),
        ("truncated-tail", "the file is truncated or damaged"),
        ("zeroed", "the file starts with only zero bytes"),
        ("random", "the file is not a PyTorch checkpoint"),
        ("random-pickle-marker", "the file is not a PyTorch checkpoint"),
    ],
)
def test_damaged_checkpoint_gets_one_clear_message(tmp_path, kind, reason):
    """Empty, truncated, zeroed and random files are refused as damaged (not as unsafe), naming the
    file, the reason and what to do."""
    good = save_checkpoint({"w": torch.arange(4096.0), "epoch": 2}, tmp_path / "good.pt").read_bytes()
    path = tmp_path / "last.pt"
    path.write_bytes(_damage(kind, good))
    with pytest.raises(CorruptCheckpointError) as err:
        load_checkpoint(path)
    msg = str(err.value)
    assert msg.startswith(f"cannot load checkpoint {path}: {reason}")
    assert "delete it" in msg and "resume from another checkpoint_dir" in msg
    assert not isinstance(err.value, UnsafeCheckpointError) and "\n" not in msg


def test_legacy_format_checkpoint_still_loads(tmp_path):
    """A plain-tensor file in torch's pre-zip format passes the header check and loads safely."""
    path = tmp_path / "old.pt"
    torch.save({"w": torch.ones(3), "epoch": 1}, path, _use_new_zipfile_serialization=False)
    state = load_checkpoint(path)
    assert torch.equal(state["w"], torch.ones(3)) and state["epoch"] == 1
