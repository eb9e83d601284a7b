"""The Fashion-MNIST grid of chapter 7 is reproducible: one of its runs (the WS-DR arm, seed 0), trained for
one epoch on a fixed stratified subset, gives the numbers of a stored reference record.

The reference (tests/fixtures/fashion_mnist_reference.json) was written by ``python -m
tests.test_fashion_mnist_grid`` from the grid's own configuration with only the size changed (one epoch, 20
training and 10 test images per class); the test checks that the configuration, the data subset and the
training loop still produce it. Training is deterministic on the CPU with a fixed thread count; the
tolerances allow for the rounding of float32 sums on another CPU (1e-4 on losses and rates), and no
difference in a count of images.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "book" / "experiments" / "fashion_mnist" / "experiment.yaml"
REFERENCE = REPO / "tests" / "fixtures" / "fashion_mnist_reference.json"
ARM, SEED = "qsnn_wsdr", 0
SUBSET = {"epochs": 1, "dataset_kwargs": {"train_per_class": 20, "test_per_class": 10}, "threads": 1}


def _config():
    from qsnn.experiments import Experiment

    return Experiment.from_yaml(SPEC).with_base(SUBSET).config(ARM, SEED)


def _record() -> dict:
    from qsnn.train import fit

    result = fit(_config())
    h = result.history[-1]
    return {"arm": ARM, "seed": SEED, "subset": SUBSET, "samples": result.samples,
            "train_loss": h["train_loss"], "train_acc": h["train_acc"], "train_rates": h["train_rates"],
            "test_acc": result.test_acc, "test_loss": result.test_loss, "test_rates": result.test_rates,
            "sign_balance": h["sign_balance"]}


def test_one_epoch_on_a_fixed_subset_reproduces_the_reference():
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))
    got = _record()  # needs Fashion-MNIST (make data); a missing file fails with a message that says so
    assert got["samples"] == ref["samples"] == {"train": 200, "test": 100}
    assert round(got["train_acc"] * 200) == round(ref["train_acc"] * 200)
    assert round(got["test_acc"] * 100) == round(ref["test_acc"] * 100)
    for key in ("train_loss", "test_loss"):
        assert got[key] == pytest.approx(ref[key], abs=1e-4), key
    for key in ("train_rates", "test_rates", "sign_balance"):
        assert got[key] == pytest.approx(ref[key], abs=1e-4), key
    # the record covers every spiking layer (8) and every binary layer (7: the convolutions after the first) of the slim VGG-11
    assert len(ref["test_rates"]) == 8 and len(ref["sign_balance"]) == 7
    assert all(0.0 < r < 1.0 for r in ref["test_rates"]) and all(0.9 < h <= 1.0 for h in ref["sign_balance"])


if __name__ == "__main__":  # regenerate the reference after an intended change of training
    from qsnn._json import to_jsonable

    REFERENCE.write_text(json.dumps(to_jsonable(_record()), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE}")
