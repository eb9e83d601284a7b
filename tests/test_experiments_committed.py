"""Every run committed under book/experiments loads with load_run, and its model, evaluated again on the test
set, gives the test accuracy stored in its metrics.json (weights, configuration and metrics agree)."""

from pathlib import Path

import pytest

from qsnn.experiments import Experiment, is_complete, load_run, run_folder

BOOK = Path(__file__).resolve().parents[1] / "book" / "experiments"
SPECS = sorted(BOOK.glob("*/experiment.yaml"))
RUNS = [(spec, arm, seed) for spec in SPECS for arm, seed in Experiment.from_yaml(spec).runs()
        if is_complete(run_folder(spec.parent, arm, seed))]  # the committed ones


def _grids_read_by_chapters() -> set:
    import re

    found = set()
    for nb in (BOOK.parent).glob("[0-9]*.ipynb"):
        found |= set(re.findall(r"experiments/([0-9A-Za-z_.-]+)/experiment\.yaml", nb.read_text(encoding="utf-8")))
    return found


def test_every_grid_a_chapter_reads_is_committed_in_full():
    grids = _grids_read_by_chapters()
    assert "06_event_data" in grids
    for name in grids:
        spec = BOOK / name / "experiment.yaml"
        assert spec.is_file(), f"a chapter reads {spec}, which does not exist"
        missing = [f"{a}/seed{k}" for a, k in Experiment.from_yaml(spec).runs() if not is_complete(run_folder(spec.parent, a, k))]
        assert not missing, f"{name}: runs not committed: {missing}; run python -m qsnn.experiments run {spec}"


def test_run_folders_are_small():
    for spec, arm, seed in RUNS:
        assert (run_folder(spec.parent, arm, seed) / "model.pt").stat().st_size < 1_000_000


@pytest.mark.parametrize("spec, arm, seed", RUNS, ids=[f"{s.parent.name}-{a}-{k}" for s, a, k in RUNS])
def test_committed_run_reproduces_its_test_accuracy(spec, arm, seed):
    from qsnn.data import get_loaders
    from qsnn.train import evaluate

    folder = run_folder(spec.parent, arm, seed)
    run = load_run(folder)
    assert run.config == Experiment.from_yaml(spec).config(arm, seed)
    loaders = get_loaders(run.config.dataset, run.config.data_dir, batch_size=run.config.batch_size, seed=seed,
                          time_steps=run.config.time_steps, dataset_kwargs=run.config.dataset_kwargs)
    result = evaluate(run.model, loaders.test, run.config.time_steps)
    assert result.accuracy == pytest.approx(run.metrics["test_acc"], abs=1e-12)
    assert result.rates == pytest.approx(run.metrics["test_rates"], abs=1e-5)
