"""The Fashion-MNIST grids of chapters 7 and 8 are reproducible: one run of each (the WS-DR arm, seed 0), trained for
one epoch on a fixed stratified subset, gives the numbers of a stored reference record.

The references (tests/fixtures/<grid>_reference.json) were written by ``python -m
tests.integration.test_fashion_mnist_grid`` from each grid's own configuration with only the size changed (one epoch, 20
training and 10 test images per class); the test checks that the configuration, the data subset and the
training loop still produce them. Training is deterministic on the CPU with a fixed thread count; the
tolerances allow for the rounding of float32 sums on another CPU (1e-4 on losses and rates), and no
difference in a count of images.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEED = 0
SUBSET = {"epochs": 1, "dataset_kwargs": {"train_per_class": 20, "test_per_class": 10}, "threads": 1}
# grid -> (its WS-DR arm, spiking layers, binary layers): conv4 of chapter 7's regime, and the slim VGG-11 of
# chapter 8's reset grid, whose hard-reset arm is the WS-DR network of its smaller regime
GRIDS = {"fashion_mnist_main": ("qsnn_wsdr", 4, 3), "fashion_mnist_resets": ("zero", 8, 7)}


def _spec(grid: str) -> Path:
    return REPO / "book" / "experiments" / grid / "experiment.yaml"


def _reference(grid: str) -> Path:
    return REPO / "tests" / "fixtures" / f"{grid}_reference.json"


def _config(grid: str):
    from qsnn.experiments import Experiment

    return Experiment.from_yaml(_spec(grid)).with_base(SUBSET).config(GRIDS[grid][0], SEED)


def _record(grid: str) -> dict:
    from qsnn.train import fit

    result = fit(_config(grid))
    h = result.history[-1]
    return {"arm": GRIDS[grid][0], "seed": SEED, "subset": SUBSET, "samples": result.samples,
            "train_loss": h["train_loss"], "train_acc": h["train_acc"], "train_rates": h["train_rates"],
            "test_acc": result.test_acc, "test_loss": result.test_loss, "test_rates": result.test_rates,
            "sign_balance": h["sign_balance"]}


@pytest.mark.parametrize("grid", sorted(GRIDS))
def test_one_epoch_on_a_fixed_subset_reproduces_the_reference(grid):
    """One epoch of the grid's WS-DR run on 200 images gives its stored reference record."""
    ref = json.loads(_reference(grid).read_text(encoding="utf-8"))
    got = _record(grid)  # needs Fashion-MNIST (make data); a missing file fails with a message that says so
    assert got["samples"] == ref["samples"] == {"train": 200, "test": 100}
    assert round(got["train_acc"] * 200) == round(ref["train_acc"] * 200)
    assert round(got["test_acc"] * 100) == round(ref["test_acc"] * 100)
    for key in ("train_loss", "test_loss"):
        assert got[key] == pytest.approx(ref[key], abs=1e-4), key
    for key in ("train_rates", "test_rates", "sign_balance"):
        assert got[key] == pytest.approx(ref[key], abs=1e-4), key
    # the record covers every spiking layer and every binary layer (the convolutions after the first)
    _, n_lif, n_binary = GRIDS[grid]
    assert len(ref["test_rates"]) == n_lif and len(ref["sign_balance"]) == n_binary
    assert all(0.0 < r < 1.0 for r in ref["test_rates"]) and all(0.9 < h <= 1.0 for h in ref["sign_balance"])


if __name__ == "__main__":  # regenerate the references after an intended change of training
    import sys

    from qsnn._core.jsonio import to_jsonable

    for grid in sys.argv[1:] or sorted(GRIDS):
        _reference(grid).write_text(json.dumps(to_jsonable(_record(grid)), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {_reference(grid)}")
