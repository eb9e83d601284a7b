"""Every run committed under book/experiments loads with load_run, and its model, evaluated again on the test
set, gives the test accuracy stored in its metrics.json (weights, configuration and metrics agree)."""

from pathlib import Path

import pytest

from qsnn.experiments import Experiment, is_complete, load_run, run_folder

BOOK = Path(__file__).resolve().parents[1] / "book" / "experiments"
SPECS = sorted(BOOK.glob("*/experiment.yaml"))
RUNS = [(spec, arm, seed) for spec in SPECS for arm, seed in Experiment.from_yaml(spec).runs()]


def test_the_chapters_grids_are_committed():
    assert {s.parent.name for s in SPECS} >= {"05_ablation", "05_lambda_sweep", "05_membrane_sweep", "06_event_data"}
    missing = [f"{s.parent.name}/{a}/seed{k}" for s, a, k in RUNS if not is_complete(run_folder(s.parent, a, k))]
    assert not missing, f"not committed: {missing}; run python -m qsnn.experiments run <spec>"


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
