"""Tests of qsnn.book.trained: what the training chapters read from a grid's runs, checked on runs made by hand
(metrics only, or a small network) against the plain definitions."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from qsnn.book import trained
from qsnn.nn import binary_entropy


def _run(test_acc=0.9, rates=(0.2, 0.4, 0.3), history=(), train_seconds=10.0, **extra):
    metrics = {"test_acc": test_acc, "test_rates": list(rates), "history": list(history),
               "train_seconds": train_seconds, **extra}
    return SimpleNamespace(metrics=metrics)


def _history(*test_acc, train_acc=None, ce=None, sr=None):
    n = len(test_acc)
    train_acc = train_acc or [0.0] * n
    ce, sr = ce or [0.0] * n, sr or [0.0] * n
    return [{"test_acc": a, "train_acc": t, "train_ce": c, "train_sr": s, "ede_progress": (i + 1) / n}
            for i, (a, t, c, s) in enumerate(zip(test_acc, train_acc, ce, sr))]


def test_setting_values_quote_the_config():
    from qsnn.train import TrainConfig

    cfg = TrainConfig(model="small", dataset="digits", model_kwargs={"widths": [8, 16, 32], "membrane_bits": 2},
                      time_steps=4, epochs=20, lr=0.1, momentum=0.9, batch_size=64)
    assert trained.setting_values(cfg) == {"time_steps": 4, "widths": "8-16-32", "membrane_bits": 2, "epochs": 20,
                                           "momentum": 0.9, "lr": 0.1, "batch_size": 64}


def test_final_ede_t_is_the_schedules_end():
    run = _run(history=_history(0.5, 0.6))  # progress 1 in the last epoch: t = 10 (IR-Net's schedule)
    assert trained.final_ede_t(run) == pytest.approx(10.0)


def test_per_arm_and_test_rates_keep_the_seed_order():
    runs = {"a": [_run(0.5, (0.1, 0.2, 0.3)), _run(0.7, (0.3, 0.2, 0.1))], "b": [_run(0.9)]}
    assert trained.per_arm(runs) == {"a": [0.5, 0.7], "b": [0.9]}
    rates = trained.test_rates(runs)
    assert rates["a"].shape == (2, 3) and rates["a"][1].tolist() == [0.3, 0.2, 0.1]


def test_regulated_entropy_averages_the_middle_layers_per_seed():
    rates = {"a": np.array([[0.9, 0.5, 0.25, 0.1], [0.9, 0.25, 0.25, 0.9]])}
    h25 = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    out = trained.regulated_entropy(rates, [3, 7])
    assert out == {"a": {3: pytest.approx((1.0 + h25) / 2), 7: pytest.approx(h25)}}
    with pytest.raises(ValueError, match="3 layers|>= 3"):
        trained.regulated_entropy({"a": np.array([[0.5, 0.5]])}, [0])
    with pytest.raises(ValueError, match="3 seeds"):
        trained.regulated_entropy(rates, [0, 1, 5])


def test_late_epoch_accuracy_means_and_swings():
    runs = {"a": [_run(history=_history(0.1, 0.8, 0.6)), _run(history=_history(0.2, 0.5, 0.9))]}
    late, swing = trained.late_epoch_accuracy(runs, [0, 1], last=2)
    assert late == {"a": {0: pytest.approx(0.7), 1: pytest.approx(0.7)}}
    assert swing == {"a": pytest.approx(0.4)}  # seed 1: 0.9 - 0.5
    with pytest.raises(ValueError, match="fewer than 4"):
        trained.late_epoch_accuracy(runs, [0, 1], last=4)
    with pytest.raises(ValueError, match=">= 1"):
        trained.late_epoch_accuracy(runs, [0, 1], last=0)


def test_mean_curves_average_over_seeds():
    runs = {"a": [_run(history=_history(0.1, 0.3, train_acc=[0.2, 0.4])),
                  _run(history=_history(0.3, 0.5, train_acc=[0.4, 1.0]))]}
    assert trained.mean_curves(runs, "train_acc")["a"].tolist() == pytest.approx([0.3, 0.7])
    ragged = {"a": [_run(history=_history(0.1)), _run(history=_history(0.1, 0.2))]}
    with pytest.raises(ValueError, match="differ in length"):
        trained.mean_curves(ragged, "test_acc")


def test_loss_shares_by_hand():
    runs = [_run(history=_history(0, 0, ce=[2.0, 1.0], sr=[0.2, 0.1])),
            _run(history=_history(0, 0, ce=[2.2, 0.6], sr=[0.2, 0.3]))]
    s = trained.loss_shares(runs, lambda_sr=0.5)
    assert s["ce_first"] == pytest.approx(2.1) and s["ce_last"] == pytest.approx(0.8)
    assert s["sr_last"] == pytest.approx(0.2)
    assert s["sr_share"] == pytest.approx(100 * 0.5 * 0.2 / (0.8 + 0.5 * 0.2))
    assert list(s) == ["ce_first", "ce_last", "sr_last", "sr_share"]


def test_membrane_sweep_table_keys_full_precision_as_32_bits():
    def arm(bits, *acc):
        return [SimpleNamespace(config=SimpleNamespace(model_kwargs={"membrane_bits": bits}), metrics={"test_acc": a})
                for a in acc]

    results, text = trained.membrane_sweep_table({"fp": arm(None, 0.9, 0.8), "b2": arm(2, 0.5, 0.7)}, [0, 4])
    assert list(results) == [32, 2]
    assert results[2] == {"mean": pytest.approx(0.6), "std": pytest.approx(math.sqrt(0.02)), "per_seed": [0.5, 0.7]}
    lines = text.splitlines()
    assert lines[0] == "  membrane   seed 0   seed 4      mean"
    assert lines[1] == "      FP32   90.00%   80.00%    85.00%"
    assert lines[2] == "     2-bit   50.00%   70.00%    60.00%"


def test_training_seconds_count_a_copied_run_once():
    grid_a = {"x": [_run(train_seconds=10.0), _run(train_seconds=20.0)]}
    grid_b = {"x": [_run(train_seconds=10.0, copied_from="a/x/seed0")], "y": [_run(train_seconds=5.0)]}
    assert trained.training_seconds([grid_a, grid_b]) == [10.0, 20.0, 5.0]


def test_latent_rms_and_model_sizes_of_a_small_network():
    from qsnn.models import build
    from qsnn.nn import binary_layers
    from qsnn.size import model_size

    torch.manual_seed(0)
    model = build("small", num_classes=10, in_channels=1, widths=[4, 6, 8], weight_regulation=False)
    per_layer = [float(torch.sqrt((l.weight.detach().flatten(1) ** 2).mean(1)).mean()) for l in binary_layers(model)]
    assert trained.latent_rms([model, model]) == pytest.approx(np.mean(per_layer))
    runs = {"q": [SimpleNamespace(model=model)]}
    assert trained.model_sizes(runs) == {"q": model_size(model)}
    with pytest.raises(ValueError, match="binary layer"):
        trained.latent_rms([torch.nn.Linear(2, 2)])


def test_regulated_rates_are_the_layers_between_the_first_and_the_last():
    assert trained.regulated_rates([0.9, 0.1, 0.2, 0.3]).tolist() == [0.1, 0.2]
    assert trained.regulated_layers_entropy([0.0, 0.5, 0.5, 1.0]) == 1.0
    assert trained.regulated_layers_entropy([0.5, 0.0, 1.0, 0.5]) == 0.0
    for bad in ([0.1, 0.2], []):
        with pytest.raises(ValueError, match=">= 3 spiking layers"):
            trained.regulated_rates(bad)
    with pytest.raises(ValueError, match=r"1-D\), got shape \(1, 3\)"):
        trained.regulated_rates([[0.1, 0.2, 0.3]])


def test_regulated_entropy_matches_binary_entropy_per_layer():
    rng = np.random.default_rng(1)
    rates = {"a": rng.uniform(0.05, 0.95, size=(3, 5))}
    out = trained.regulated_entropy(rates, [0, 1, 2])["a"]
    for i in range(3):
        assert out[i] == pytest.approx(np.mean([binary_entropy(float(r)) for r in rates["a"][i, 1:-1]]))


def test_open_grids_reuse_the_grids_before_them_only_when_retraining(monkeypatch, tmp_path):
    calls, finished = [], []

    def fake_open_grid(spec, *, retrain, root, overrides, reuse, finished_only):
        calls.append((spec, retrain, root, overrides, list(reuse)))
        finished.append(finished_only)
        name = spec.split("/")[1]
        run = SimpleNamespace(folder=tmp_path / name / "arm" / "seed0")
        return SimpleNamespace(name=name), {"arm": [run]}

    monkeypatch.setattr(trained, "open_grid", fake_open_grid)
    grids = trained.open_grids(("g", "g_sweep", "g_other"), retrain=True, root="runs", overrides={"epochs": 1})
    assert list(grids) == ["g", "g_sweep", "g_other"] and grids["g_sweep"][0].name == "g_sweep"
    assert calls == [("experiments/g/experiment.yaml", True, "runs", {"epochs": 1}, []),
                     ("experiments/g_sweep/experiment.yaml", True, "runs", {"epochs": 1}, [tmp_path / "g"]),
                     ("experiments/g_other/experiment.yaml", True, "runs", {"epochs": 1},
                      [tmp_path / "g", tmp_path / "g_sweep"])]
    calls.clear()
    trained.open_grids(("g", "g_sweep"))  # the committed runs: nothing to reuse
    assert [c[4] for c in calls] == [[], []] and [c[1] for c in calls] == [False, False]
    # grids still being trained: the committed runs finished so far; a retrain trains them all
    finished.clear()
    trained.open_grids(("g",), finished_only=True)
    trained.open_grids(("g",), retrain=True, finished_only=True)
    assert finished == [True, False]
    with pytest.raises(ValueError, match="at least one grid"):
        trained.open_grids(())


def _configured(test_acc, **model_kwargs):
    run = _run(test_acc)
    run.config = SimpleNamespace(model_kwargs=model_kwargs, time_steps=4)
    return run


def test_membrane_setting_enters_full_precision_under_each_quantizer():
    assert trained.membrane_setting(_configured(0.8, membrane_bits=None).config) == (32, ("uniform", "tanh"))
    assert trained.membrane_setting(_configured(0.8, membrane_bits=8).config) == (8, ("uniform",))
    tanh = _configured(0.8, membrane_bits=2, membrane_quantizer="tanh").config
    assert trained.membrane_setting(tanh) == (2, ("tanh",))
    assert trained.membrane_setting(_configured(0.8, membrane_bits=None).config, ("tanh",)) == (32, ("tanh",))
    with pytest.raises(ValueError, match="'tanh', not one of \\['uniform'\\]"):
        trained.membrane_setting(tanh, ("uniform",))
    with pytest.raises(ValueError, match="'lsq'"):
        trained.membrane_setting(_configured(0.8, membrane_bits=4, membrane_quantizer="lsq").config)
