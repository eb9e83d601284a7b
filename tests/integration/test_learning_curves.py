"""learning_curves reads every finished run's per-epoch test accuracy, its last step and its cost."""

import json

import pytest

from qsnn.experiments import Experiment, format_curves, learning_curves, run_experiment, run_folder

BASE = {"model": "small", "model_kwargs": {"widths": [4, 4, 8], "weight_bits": 1, "membrane_bits": 4},
        "dataset": "digits", "time_steps": 1, "epochs": 2, "batch_size": 128, "device": "cpu", "threads": 1,
        "eval_every": 1}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    exp = Experiment(name="curves", base=BASE, arms={"q": {}, "fp": {"model_kwargs.weight_bits": 32}}, seeds=[0])
    run_experiment(exp, root)
    return exp, root


def test_curves_follow_the_history_of_each_run(grid):
    """Each run's curve is its history's test accuracies, its gap the last minus the one before."""
    exp, root = grid
    curves = learning_curves(exp, root)
    assert sorted(curves) == ["fp", "q"]
    for arm in curves:
        metrics = json.loads((run_folder(root, arm, 0) / "metrics.json").read_text())
        acc = [r["test_acc"] for r in metrics["history"]]
        c = curves[arm][0]
        assert c["epochs"] == [1, 2] and c["test_acc"] == acc and c["final"] == acc[-1]
        assert c["plateau_gap"] == pytest.approx(acc[1] - acc[0])
        assert c["core_minutes"] == pytest.approx(metrics["train_seconds"] / 60)


def test_unfinished_runs_are_left_out_and_the_table_has_a_line_per_run(grid, tmp_path):
    """A grid with one finished run gives one curve; format_curves prints one line per run."""
    exp, root = grid
    wider = Experiment(name="curves", base=BASE, arms={"q": {}, "fp": {"model_kwargs.weight_bits": 32}},
                       seeds=[0, 1])
    curves = learning_curves(wider, root)
    assert {arm: sorted(c) for arm, c in curves.items()} == {"q": [0], "fp": [0]}
    lines = format_curves(curves).splitlines()
    assert len(lines) == 3 and lines[1].split()[:2] == ["q", "0"]
