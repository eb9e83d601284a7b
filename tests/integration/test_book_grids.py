"""qsnn.book.trained.grid_differences and qsnn.book.reports.report_differences on a committed grid (chapter 5's
ablation): the paired differences read from the run folders equal those formed by hand from the runs' metrics; and
what chapter 7 reads from its three Fashion-MNIST grids."""

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


def test_the_fashion_mnist_helpers_on_the_committed_grids(monkeypatch):
    """Chapter 7's grids read back: the sweeps' shared runs are the ablation's WS-DR run of seed 0, the setting and
    the sizes are those the chapter states, and the membrane table holds every bit width under both quantizers."""
    from qsnn.book.analysis import paper_table

    monkeypatch.chdir(SPEC.parents[3])  # the repository: open_grids finds experiments/<name>/ in its book/
    grids = trained.open_grids(("fashion_mnist", "fashion_mnist_lambda", "fashion_mnist_membrane"))
    (experiment, runs), (_, lambda_runs), (_, membrane_runs) = grids.values()
    own = runs["qsnn_wsdr"][0].metrics["test_acc"]  # seed 0, 4-bit uniform membranes, lambda_SR = 5e-3
    membrane, text = trained.membrane_quantizer_table(membrane_runs)
    assert sorted(membrane["uniform"]) == sorted(membrane["tanh"]) == [2, 4, 8, 32]
    assert membrane["uniform"][4] == own and f"{'4 bit':>10} {100 * own:>8.2f}%" in text
    assert {rs[0].config.lambda_sr: rs[0].metrics["test_acc"] for rs in lambda_runs.values()}[0.005] == own
    setting = runs["qsnn_wsdr"][0].config
    values = trained.subset_setting_values(setting, runs, len(experiment.seeds), full_size=60_000)
    assert (values["n_train_subset"], values["tested_epochs"]) == (10 * setting.dataset_kwargs["train_per_class"],
                                                                   "3 and 6")
    seconds = [r.metrics["train_seconds"] for rs in runs.values() for r in rs]
    assert (values["run_seconds_min"], values["run_seconds_max"]) == (min(seconds), max(seconds))
    sizes = trained.model_sizes(runs)
    accuracy = {arm: {"mean": 0.8, "std": 0.01} for arm in runs}
    rows = trained.paper_rows(runs, {arm: arm for arm in runs}, sizes, accuracy)
    assert [(r["weight_bits"], r["membrane_bits"]) for r in rows] == [(32, None)] + [(1, 4)] * 4
    assert paper_table(rows).splitlines()[-1].endswith("95.9%")  # binary weights: 23.64 kB of 581.64
    assert trained.training_seconds(rs for _, rs in grids.values())  # some runs trained, shared ones once
