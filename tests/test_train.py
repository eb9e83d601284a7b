"""Tests of qsnn.train: configuration, loss, optimiser groups, schedule, training, exact resume,
evaluation and the command line, on a stand-in model honouring the qsnn.models contract."""

import json
import math
import re
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

import _fake_models
from qsnn.checkpoint import load_checkpoint
from qsnn.data import get_loaders
from qsnn.train import (
    TrainConfig,
    ede_progress,
    evaluate,
    firing_rates,
    fit,
    main,
    param_groups,
    qsnn_loss,
)


@pytest.fixture(autouse=True)
def stand_in(monkeypatch):
    """Route qsnn.models / qsnn.nn to the stand-in for every test of this module."""
    for name, module in _fake_models.modules().items():
        monkeypatch.setitem(sys.modules, name, module)


def _cfg(**kw):
    base = dict(epochs=2, batch_size=128, time_steps=2, progress=False, threads=1, seed=3)
    base.update(kw)
    return TrainConfig(**base)


# ----------------------------------------------------------------------------------------------
# configuration


def test_config_defaults_are_the_recipe():
    """The defaults follow the spec's recipe (SGD lr 0.1, momentum 0.9, wd 1e-4, lambda 5e-3)."""
    c = TrainConfig()
    assert (c.lr, c.momentum, c.weight_decay, c.lambda_sr, c.batch_size) == (0.1, 0.9, 1e-4, 5e-3, 64)
    assert c.dataset == "digits" and c.device == "auto"


@pytest.mark.parametrize(
    "field, value, allowed",
    [
        ("model", "alexnet", "one of vgg11"),
        ("dataset", "svhn", "one of digits"),
        ("time_steps", 0, "integer >= 1"),
        ("epochs", 2.5, "integer >= 1"),
        ("batch_size", True, "integer >= 1"),
        ("seed", -1, "integer >= 0"),
        ("lr", 0.0, "finite number > 0"),
        ("lr", float("nan"), "finite number > 0"),
        ("momentum", 1.0, r"\[0, 1\)"),
        ("weight_decay", -1e-4, ">= 0"),
        ("lambda_sr", -0.1, ">= 0"),
        ("sr_target", 1.5, r"\[0, 1\]"),
        ("device", "tpu", "'auto', 'cpu', 'cuda'"),
        ("num_workers", -1, "integer >= 0"),
        ("threads", 0, ">= 1 or None"),
        ("progress", "yes", "true or false"),
        ("checkpoint_dir", "", "non-empty path"),
    ],
)
def test_config_rejects_invalid_values(field, value, allowed):
    """An invalid field raises ValueError naming the field, the value and what is allowed."""
    with pytest.raises(ValueError) as err:
        TrainConfig(**{field: value})
    msg = str(err.value)
    assert msg.startswith(f"{field} must be") and repr(value) in msg
    assert re.search(allowed, msg)


def test_from_dict_rejects_unknown_keys_listing_allowed():
    """Unknown configuration keys raise ValueError listing every allowed key."""
    with pytest.raises(ValueError, match="unknown configuration keys: epoch, lrate") as err:
        TrainConfig.from_dict({"epoch": 3, "lrate": 0.1})
    for name in TrainConfig.field_names():
        assert name in str(err.value)


def test_model_kwargs_checked_against_builder():
    """model_kwargs keys unknown to qsnn.models.build, or supplied by the data, are rejected."""
    TrainConfig(model_kwargs={"membrane_bits": 2, "weight_regulation": False, "widths": [4, 8]})
    with pytest.raises(ValueError, match="unknown keys membrane_bit; allowed: weight_bits"):
        TrainConfig(model_kwargs={"membrane_bit": 2})
    with pytest.raises(ValueError, match="must not set num_classes"):
        TrainConfig(model_kwargs={"num_classes": 3})


def test_from_yaml_round_trip(tmp_path):
    """A YAML file of to_dict() rebuilds an equal configuration."""
    c = TrainConfig(model="vgg11", dataset="cifar10", model_kwargs={"membrane_bits": 4}, epochs=7)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(c.to_dict()))
    assert TrainConfig.from_yaml(path) == c


def test_from_yaml_rejects_non_mapping(tmp_path):
    """A YAML file that is not a mapping raises ValueError."""
    path = tmp_path / "c.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        TrainConfig.from_yaml(path)


def test_book_params_configs_are_valid():
    """The paper-scale YAML configurations in book/params load and follow the recipe."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "book" / "params"
    names = ["vgg11_cifar10", "vgg11_cifar100", "resnet19_cifar10", "resnet19_cifar100"]
    for name in names:
        c = TrainConfig.from_yaml(root / f"{name}.yaml")
        assert (c.lr, c.momentum, c.weight_decay, c.lambda_sr) == (0.1, 0.9, 1e-4, 5e-3)
        assert (c.batch_size, c.epochs, c.time_steps, c.device) == (64, 300, 6, "cuda")
        assert c.model == name.split("_")[0] and c.dataset == name.split("_")[1]


# ----------------------------------------------------------------------------------------------
# loss, groups, schedules


def test_qsnn_loss_composition():
    """L = (1/T) sum_t CE(O[t], y) + lambda * mean_{inner layers}(r_l - 0.5)^2 on a known tensor."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 4, 5, generator=g)
    y = torch.tensor([0, 4, 2, 2])
    rates = [torch.tensor(0.1), torch.tensor(0.2), torch.tensor(0.9), torch.tensor(0.3)]
    parts = qsnn_loss(logits, y, rates, lambda_sr=0.5)
    ce = sum(F.cross_entropy(logits[t], y) for t in range(3)) / 3
    sr = ((0.2 - 0.5) ** 2 + (0.9 - 0.5) ** 2) / 2
    np.testing.assert_allclose(parts.ce.item(), ce.item(), rtol=1e-6)
    np.testing.assert_allclose(parts.sr.item(), sr, rtol=1e-6)
    np.testing.assert_allclose(parts.total.item(), ce.item() + 0.5 * sr, rtol=1e-6)


def test_qsnn_loss_without_regulation_is_ce():
    """lambda_sr = 0 makes the total loss exactly the cross-entropy part."""
    logits = torch.randn(2, 3, 4)
    parts = qsnn_loss(logits, torch.tensor([1, 2, 3]), [torch.tensor(0.3)] * 3, lambda_sr=0.0)
    assert torch.equal(parts.total, parts.ce)


def test_qsnn_loss_rejects_bad_shapes():
    """Logits that are not [T, B, K] raise ValueError."""
    with pytest.raises(ValueError, match=r"\[T, B, K\]"):
        qsnn_loss(torch.zeros(4, 5), torch.zeros(4, dtype=torch.long), [], 0.0)


def test_param_groups_exclude_bn_and_bias_from_decay():
    """Conv/linear weights get weight decay; BN gamma/beta and biases get none."""
    model = _fake_models.build("small", 10, 1)
    groups = param_groups(model, 1e-4)
    decayed = {id(p) for p in groups[0]["params"]}
    assert groups[0]["weight_decay"] == 1e-4 and groups[1]["weight_decay"] == 0.0
    assert id(model.conv1.weight) in decayed and id(model.fc.weight) in decayed
    for p in (model.bn1.weight, model.bn1.bias, model.fc.bias, model.fc1.bias):
        assert id(p) not in decayed
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_ede_progress_spans_unit_interval():
    """EDE progress is e / (epochs - 1): 0 at the first epoch, 1 at the last, 0 for one epoch."""
    assert [ede_progress(e, 5) for e in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert ede_progress(0, 1) == 0.0


# ----------------------------------------------------------------------------------------------
# training


@pytest.mark.slow
def test_fit_learns_digits_above_chance():
    """Five epochs on the digits reach well above chance (10 %) and set EDE progress to 1."""
    result = fit(_cfg(epochs=5, batch_size=64, time_steps=4))
    assert result.test_acc > 0.6
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.model.ede_progress == 1.0
    assert len(result.test_rates) == 3 and all(0 <= r <= 1 for r in result.test_rates)


def test_history_records_cosine_lr_per_epoch():
    """Epoch e trains at lr (1 + cos(pi e / E)) / 2, and the record has every documented key."""
    result = fit(_cfg(epochs=3, lr=0.2, eval_every=2))
    lrs = [r["lr"] for r in result.history]
    np.testing.assert_allclose(lrs, [0.2 * (1 + math.cos(math.pi * e / 3)) / 2 for e in range(3)])
    keys = {"epoch", "lr", "ede_progress", "train_loss", "train_ce", "train_sr", "train_acc",
            "train_rates", "test_acc", "test_loss", "test_rates", "epoch_time"}
    assert set(result.history[0]) == keys
    assert result.history[0]["test_acc"] is None and result.history[1]["test_acc"] is not None
    assert result.history[2]["test_acc"] == result.test_acc


def test_fit_is_deterministic_for_a_seed():
    """Two runs with one seed give identical weights; another seed gives different ones."""
    a, b, c = fit(_cfg(epochs=1)), fit(_cfg(epochs=1)), fit(_cfg(epochs=1, seed=4))
    sa, sb, sc = a.model.state_dict(), b.model.state_dict(), c.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["conv1.weight"], sc["conv1.weight"])


def _strip_time(history):
    return [{k: v for k, v in r.items() if k != "epoch_time"} for r in history]


@pytest.mark.slow
def test_resume_reproduces_uninterrupted_run_exactly(tmp_path):
    """3 epochs straight == 2 epochs, then resume for the 3rd: identical weights and history."""
    straight = fit(_cfg(epochs=3, checkpoint_dir=str(tmp_path / "a")))
    # Interrupt after 2 epochs: run epochs=3 but stop via the callback.
    class Stop(Exception):
        pass

    def stop_after_two(record):
        if record["epoch"] == 2:
            raise Stop

    with pytest.raises(Stop):
        fit(_cfg(epochs=3, checkpoint_dir=str(tmp_path / "b")), on_epoch=stop_after_two)
    assert load_checkpoint(tmp_path / "b" / "last.pt")["epoch"] == 2
    resumed = fit(_cfg(epochs=3, checkpoint_dir=str(tmp_path / "b"), resume=True))
    s1, s2 = straight.model.state_dict(), resumed.model.state_dict()
    assert s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)
    assert _strip_time(straight.history) == _strip_time(resumed.history)
    o1 = load_checkpoint(tmp_path / "a" / "last.pt")["optimizer"]["state"]
    o2 = load_checkpoint(tmp_path / "b" / "last.pt")["optimizer"]["state"]
    assert all(torch.equal(o1[k]["momentum_buffer"], o2[k]["momentum_buffer"]) for k in o1)


def test_resume_refuses_a_different_configuration(tmp_path):
    """Resuming with a changed run-defining field raises ValueError naming the field."""
    fit(_cfg(epochs=1, checkpoint_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="lambda_sr: checkpoint 0.005, now 0.1"):
        fit(_cfg(epochs=1, checkpoint_dir=str(tmp_path), resume=True, lambda_sr=0.1))


def test_resume_of_a_finished_run_only_evaluates(tmp_path):
    """Resuming a completed run trains nothing and reports the same final accuracy."""
    done = fit(_cfg(epochs=1, checkpoint_dir=str(tmp_path)))
    again = fit(_cfg(epochs=1, checkpoint_dir=str(tmp_path), resume=True))
    assert again.test_acc == done.test_acc and _strip_time(again.history) == _strip_time(done.history)


def test_checkpoint_is_safe_loadable_and_complete(tmp_path):
    """The per-epoch checkpoint loads with weights_only and holds state, RNG and plain config."""
    fit(_cfg(epochs=1, checkpoint_dir=str(tmp_path)))
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert {"model", "optimizer", "scheduler", "epoch", "history", "rng", "config"} <= set(state)
    assert state["config"]["seed"] == 3 and state["epoch"] == 1
    assert isinstance(state["rng"]["numpy"]["keys"], torch.Tensor)


def test_cuda_requested_without_cuda_is_an_error(monkeypatch):
    """device='cuda' on a machine without CUDA raises ValueError saying so."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        fit(_cfg(device="cuda"))


def test_fit_restores_global_torch_settings():
    """fit leaves the thread count and the deterministic-algorithms flag as it found them."""
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    fit(_cfg(epochs=1, threads=1))
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == det


# ----------------------------------------------------------------------------------------------
# evaluation


def test_evaluate_matches_direct_computation():
    """evaluate's accuracy and rates equal a direct pass over the whole test split."""
    torch.manual_seed(0)
    model = _fake_models.build("small", 10, 1).eval()
    loaders = get_loaders("digits", batch_size=50)
    res = evaluate(model, loaders.test, 3, "cpu")
    x = torch.stack([loaders.test.dataset[i][0] for i in range(360)])
    y = torch.tensor([loaders.test.dataset[i][1] for i in range(360)])
    with torch.no_grad():
        logits, rates = model(x.unsqueeze(0).repeat(3, 1, 1, 1, 1), return_rates=True)
    assert res.count == 360
    np.testing.assert_allclose(res.accuracy, (logits.mean(0).argmax(-1) == y).float().mean().item())
    np.testing.assert_allclose(res.rates, [r.item() for r in rates], rtol=1e-5)
    assert firing_rates(model, loaders.test, 3, "cpu") == res.rates


# ----------------------------------------------------------------------------------------------
# command line


def test_cli_end_to_end(tmp_path, capsys):
    """qsnn-train with a YAML on the digits for one epoch prints lines and writes metrics.json."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"epochs": 1, "batch_size": 128, "time_steps": 2, "threads": 1,
                                   "model_kwargs": {"widths": [4, 8]}}))
    out = tmp_path / "out"
    rc = main(["--config", str(cfg), "--set", "seed=5", "--set", "model_kwargs.decay=0.25",
               "--output-dir", str(out), "--no-progress"])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "epoch 1/1" in stdout and "final: test accuracy" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["seed"] == 5 and metrics["config"]["model_kwargs"] == {"widths": [4, 8], "decay": 0.25}
    assert len(metrics["history"]) == 1 and 0 <= metrics["test_acc"] <= 1
    assert "model" in load_checkpoint(out / "model.pt")


def test_cli_bad_config_exits_2(tmp_path, capsys):
    """A bad value or an unknown key prints the reason and returns exit status 2."""
    assert main(["--set", "lr=-1", "--output-dir", str(tmp_path)]) == 2
    assert "lr must be a finite number > 0, got -1" in capsys.readouterr().err
    assert main(["--set", "learning_rate=0.1"]) == 2
    assert "allowed: model, model_kwargs" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_missing_data_exits_2(tmp_path, capsys):
    """Training on a data set whose files are missing prints where to put them and returns 2."""
    rc = main(["--set", "dataset=cifar10", "--set", f"data_dir={tmp_path}", "--set", "device=cpu"])
    assert rc == 2
    assert "cifar-10-batches-py" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------
# event data


def test_dataset_kwargs_are_validated_against_the_data_set():
    """dataset_kwargs: unknown keys, bad values and options for a static set raise ValueError."""
    TrainConfig(dataset="emulated_digits", dataset_kwargs={"contrast_threshold": 0.3})
    with pytest.raises(ValueError, match="allowed: contrast_threshold"):
        TrainConfig(dataset="emulated_digits", dataset_kwargs={"threshold": 0.3})
    with pytest.raises(ValueError, match="contrast_threshold"):
        TrainConfig(dataset="emulated_digits", dataset_kwargs={"contrast_threshold": -1})
    with pytest.raises(ValueError, match="dataset_kwargs"):
        TrainConfig(dataset="digits", dataset_kwargs={"upsample": 2})
    with pytest.raises(ValueError, match="dataset_kwargs must be a mapping"):
        TrainConfig(dataset="emulated_digits", dataset_kwargs=[1])


def test_fit_trains_on_emulated_events():
    """fit on emulated_digits feeds [T, B, 2, H, W] frames with T = time_steps and learns."""
    seen = []
    real_build = sys.modules["qsnn.models"].build

    def spy_build(name, **kw):
        seen.append(kw)
        return real_build(name, **kw)

    sys.modules["qsnn.models"].build = spy_build
    try:
        r = fit(_cfg(dataset="emulated_digits", dataset_kwargs={"upsample": 1}, epochs=2,
                     time_steps=3, batch_size=64, model_kwargs={"widths": [8, 16]}))
    finally:
        sys.modules["qsnn.models"].build = real_build
    assert seen[0]["in_channels"] == 2 and seen[0]["input_size"] == (10, 10)
    assert r.test_acc > 0.3  # chance is 0.1


def test_cli_sets_dataset_kwargs_by_dotted_key(tmp_path, capsys):
    """--set dataset_kwargs.upsample=1 reaches the emulator and is recorded in metrics.json."""
    out = tmp_path / "out"
    rc = main(["--set", "dataset=emulated_digits", "--set", "dataset_kwargs.upsample=1",
               "--set", "epochs=1", "--set", "time_steps=2", "--set", "threads=1",
               "--set", "model_kwargs.widths=[4, 8]", "--output-dir", str(out), "--no-progress"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["dataset_kwargs"] == {"upsample": 1}
