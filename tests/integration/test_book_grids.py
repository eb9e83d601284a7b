"""qsnn.book.trained.grid_differences and qsnn.book.reports.report_differences on a committed grid (chapter 5's
ablation): the paired differences read from the run folders equal those formed by hand from the runs' metrics."""

from pathlib import Path

import pytest

from qsnn.book import reports, trained
from qsnn.experiments import open_grid
from qsnn.stats import paired_difference, with_holm

SPEC = Path(__file__).resolve().parents[2] / "book" / "experiments" / "05_ablation" / "experiment.yaml"


def test_grid_differences_are_the_paired_differences_of_the_runs(capsys):
    experiment, runs = open_grid(SPEC)
    per_seed = {arm: dict(zip(experiment.seeds, values)) for arm, values in trained.per_arm(runs).items()}
    by_hand = with_holm({f"{a} - {b}": paired_difference(per_seed[a], per_seed[b])
                         for a, b in experiment.comparisons()}, "qsnn_wsdr - qsnn")
    paired = reports.report_differences(experiment, runs, "qsnn_wsdr - qsnn", width=20)
    assert list(paired) == list(by_hand)
    for pair, d in by_hand.items():
        assert paired[pair]["mean"] == pytest.approx(d["mean"]) and paired[pair]["ci"] == pytest.approx(d["ci"])
        assert paired[pair]["p_holm"] == pytest.approx(d["p_holm"]) and paired[pair]["primary"] == d["primary"]
    assert capsys.readouterr().out == reports.paired_text(by_hand, width=20) + "\n"
