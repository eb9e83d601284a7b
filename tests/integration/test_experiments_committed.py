"""Every run committed under book/experiments loads with load_run and agrees with what its metrics.json
records (weights, configuration and metrics belong together).

A run on a small test set (the digits, the emulated events) is evaluated again in full: test accuracy and
per-layer rates equal the stored ones. A run on a large one (Fashion-MNIST's 10,000 images) is checked on
the first ``PREDICTION_SLICE`` test images: the classes its model predicts equal the per-image predictions
stored in its metrics.json, and its stored metrics are consistent with each other."""

import re
from pathlib import Path

import pytest

from qsnn.experiments import PREDICTION_SLICE, Experiment, is_complete, load_run, run_folder, slice_predictions

BOOK = Path(__file__).resolve().parents[2] / "book" / "experiments"
SPECS = sorted(BOOK.glob("*/experiment.yaml"))
RUNS = [(spec, arm, seed) for spec in SPECS for arm, seed in Experiment.from_yaml(spec).runs()
        if is_complete(run_folder(spec.parent, arm, seed))]  # the committed ones
FULL_EVALUATION_MAX = 2_000  # test sets up to this size are evaluated in full


def _grids_read_by_chapters(in_full: bool = True) -> set:
    """The grids the chapters read: those read in full, or (``in_full=False``) those a chapter reads while their
    runs are still being trained (its grids are opened with ``finished_only=True``)."""
    found = set()
    grids = {p.parent.name for p in SPECS}
    for nb in (BOOK.parent).glob("[0-9]*.ipynb"):
        text = nb.read_text(encoding="utf-8")
        if ("finished_only=True" in text) == in_full:
            continue
        found |= set(re.findall(r"experiments/([0-9A-Za-z_.-]+)/experiment\.yaml", text))
        # grids opened by name in a loop, e.g. for name in ("fashion_mnist_main", ...)
        found |= {g for g in grids if re.search(r'\\?"' + re.escape(g) + r'\\?"', text)}
    return found


def test_grids_read_while_being_trained_have_their_first_runs():
    """Chapter 7 reads its full-strength grids as their runs land; each grid it names exists and the main
    contrast has runs of both arms."""
    grids = _grids_read_by_chapters(in_full=False)
    assert {"fashion_mnist_main", "fashion_mnist_factorial", "fashion_mnist_pilot"} <= grids, grids
    for name in grids:
        assert (BOOK / name / "experiment.yaml").is_file(), name
    assert all(any(run_folder(BOOK / "fashion_mnist_main", arm, k).is_dir() for k in range(10))
               for arm in ("qsnn", "qsnn_wsdr"))


def test_every_grid_a_chapter_reads_is_committed_in_full():
    grids = _grids_read_by_chapters()
    assert {"05_ablation", "06_event_data", "fashion_mnist_resets"} <= grids, grids
    for name in grids:
        spec = BOOK / name / "experiment.yaml"
        assert spec.is_file(), f"a chapter reads {spec}, which does not exist"
        missing = [f"{a}/seed{k}" for a, k in Experiment.from_yaml(spec).runs() if not is_complete(run_folder(spec.parent, a, k))]
        assert not missing, f"{name}: runs not committed: {missing}; run python -m qsnn.experiments run {spec}"


def test_run_folders_are_small():
    for spec, arm, seed in RUNS:
        assert (run_folder(spec.parent, arm, seed) / "model.pt").stat().st_size < 1_000_000


@pytest.mark.parametrize("spec, arm, seed", RUNS, ids=[f"{s.parent.name}-{a}-{k}" for s, a, k in RUNS])
def test_committed_run_agrees_with_its_metrics(spec, arm, seed):
    from qsnn.data import get_loaders, load_dataset
    from qsnn.train import evaluate

    folder = run_folder(spec.parent, arm, seed)
    run = load_run(folder)
    config, metrics = run.config, run.metrics
    assert config == Experiment.from_yaml(spec).config(arm, seed)
    tested = [h["test_acc"] for h in metrics["history"] if h.get("test_acc") is not None]
    assert metrics["test_acc"] == tested[-1] and metrics["best_test_acc"] == max(tested)
    assert metrics["epochs"] == config.epochs == len(metrics["history"])
    test = load_dataset(config.dataset, config.data_dir, "test", augment=False, seed=seed,
                        time_steps=config.time_steps, dataset_kwargs=config.dataset_kwargs)
    if len(test) <= FULL_EVALUATION_MAX:
        loaders = get_loaders(config.dataset, config.data_dir, batch_size=config.batch_size, seed=seed,
                              time_steps=config.time_steps, dataset_kwargs=config.dataset_kwargs)
        result = evaluate(run.model, loaders.test, config.time_steps)
        assert result.accuracy == pytest.approx(metrics["test_acc"], abs=1e-12)
        assert result.rates == pytest.approx(metrics["test_rates"], abs=1e-5)
        return
    stored = metrics.get("test_predictions")
    assert stored is not None and len(stored) == PREDICTION_SLICE, \
        f"{folder}: a run on {len(test)} test images must store the predictions of its first {PREDICTION_SLICE}"
    again = slice_predictions(run.model, config)
    differ = [i for i, (a, b) in enumerate(zip(again, stored)) if a != b]
    assert not differ, f"{folder}: {len(differ)} of {PREDICTION_SLICE} predictions differ from the stored ones, first {differ[:5]}"
    labels = [int(test[i][1]) for i in range(PREDICTION_SLICE)]
    assert 0.5 < sum(p == y for p, y in zip(stored, labels)) / PREDICTION_SLICE <= 1.0  # the slice is learned, not noise
