"""Tests of qsnn.train: configuration, loss, optimiser groups, schedule, training, exact resume,
evaluation, metrics.json and the command line, on the real small Q-SNN (and a tiny model defined
here, passed through the ``model_factory`` seam)."""

import json
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from qsnn import models
from qsnn.checkpoint import load_checkpoint
from qsnn.data import get_loaders
from qsnn.nn import LIF, binary_layers
from qsnn.train import (
    MODEL_NAMES,
    TrainConfig,
    ede_progress,
    evaluate,
    firing_rates,
    fit,
    main,
    param_groups,
    qsnn_loss,
)


class TinySNN(nn.Module):
    """conv-BN-LIF, pool, FC readout at every step: the models' contract with no binary layer."""

    def __init__(self, num_classes, in_channels, width=4):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.lif = LIF()
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(width * 4, num_classes)

    def forward(self, x, return_rates=False):
        t, b = x.shape[:2]
        h = self.bn1(self.conv1(x.flatten(0, 1)))
        s = self.lif(h.view(t, b, *h.shape[1:]))
        logits = self.fc(self.pool(s.flatten(0, 1)).flatten(1)).view(t, b, -1)
        return (logits, [s.mean()]) if return_rates else logits


def tiny_factory(config, info):
    return TinySNN(info.num_classes, info.in_channels)


def _cfg(**kw):
    base = dict(epochs=2, batch_size=128, time_steps=2, progress=False, threads=1, seed=3)
    base.update(kw)
    return TrainConfig(**base)


# ----------------------------------------------------------------------------------------------
# configuration


def test_config_defaults_are_the_recipe():
    """The defaults follow the authors' recipe (SGD lr 0.1, momentum 0.9, wd 1e-4, lambda 5e-3)."""
    c = TrainConfig()
    assert (c.lr, c.momentum, c.weight_decay, c.lambda_sr, c.batch_size) == (0.1, 0.9, 1e-4, 5e-3, 64)
    assert c.dataset == "digits" and c.device == "auto"


@pytest.mark.parametrize(
    "field, value, allowed",
    [
        ("model", "alexnet", r"one of \('vgg11'"),
        ("dataset", "svhn", r"dataset must be one of digits, mnist"),
        ("time_steps", 0, "integer >= 1"),
        ("epochs", 2.5, "an integer"),
        ("batch_size", True, "an integer"),
        ("seed", -1, "integer >= 0"),
        ("lr", 0.0, "finite real number > 0"),
        ("lr", float("nan"), "finite real number > 0"),
        ("momentum", 1.0, r"\[0, 1\)"),
        ("weight_decay", -1e-4, ">= 0"),
        ("lambda_sr", -0.1, ">= 0"),
        ("sr_target", 1.5, r"\[0, 1\]"),
        ("device", "tpu", "'auto', 'cpu', 'cuda'"),
        ("num_workers", -1, "integer >= 0"),
        ("threads", 0, ">= 1 or None"),
        ("progress", "yes", "true or false"),
        ("overwrite", 1, "true or false"),
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


def test_model_names_come_from_the_model_registry():
    """TrainConfig accepts exactly the names qsnn.models lists, and the CLI's help shows them."""
    assert MODEL_NAMES is models.MODELS
    for name in models.MODELS:
        TrainConfig(model=name)
    from qsnn.train.cli import _build_parser

    assert ", ".join(models.MODELS) in _build_parser().format_help().replace("\n", " ").replace("  ", " ")


def test_build_model_uses_the_data_set_description():
    """TrainConfig.build_model(info) builds the configured net with the data's classes and channels."""
    from qsnn.data import dataset_info

    c = TrainConfig(model="small", model_kwargs={"widths": [4, 8, 8], "weight_bits": 32})
    model = c.build_model(dataset_info("emulated_digits"))
    x = torch.zeros(2, 3, 2, 10, 10)
    assert model(x).shape == (2, 3, 10)
    assert binary_layers(model) == []


def test_model_kwargs_checked_against_builder():
    """model_kwargs keys unknown to qsnn.models.build, or supplied by the data, are rejected."""
    TrainConfig(model_kwargs={"membrane_bits": 2, "weight_regulation": False, "widths": [4, 8, 8]})
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

    root = Path(__file__).resolve().parents[2] / "book" / "params"
    names = ["vgg11_cifar10", "vgg11_cifar100", "resnet19_cifar10", "resnet19_cifar100"]
    for name in names:
        c = TrainConfig.from_yaml(root / f"{name}.yaml")
        assert (c.lr, c.momentum, c.weight_decay, c.lambda_sr) == (0.1, 0.9, 1e-4, 5e-3)
        assert (c.batch_size, c.epochs, c.device) == (64, 300, "cuda")
        assert c.time_steps == (2 if c.model == "resnet19" else 6)  # the authors' ResNet-19 code runs T = 2
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
    for model in (TinySNN(10, 1), models.build("small", 10, 1)):
        groups = param_groups(model, 1e-4)
        decayed = {id(p) for p in groups[0]["params"]}
        assert groups[0]["weight_decay"] == 1e-4 and groups[1]["weight_decay"] == 0.0
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                assert id(m.weight) in decayed
                assert m.bias is None or id(m.bias) not in decayed
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                assert id(m.weight) not in decayed and id(m.bias) not in decayed
        assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    tiny = TinySNN(10, 1)
    assert {id(p) for p in param_groups(tiny, 1e-4)[0]["params"]} == {id(tiny.conv1.weight), id(tiny.fc.weight)}


def test_ede_progress_endpoints_spans_unit_interval():
    """The endpoints schedule is e / (epochs - 1): 0 at the first epoch, 1 at the last, 0 for one epoch."""
    assert [ede_progress(e, 5, "endpoints") for e in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert ede_progress(0, 1, "endpoints") == 0.0


def test_ede_progress_log_up_is_the_authors_schedule():
    """The default schedule is the authors' Log_UP: t = 10**(-1 + 2 e / E), 10**(1 - 2/E) in the last epoch."""
    from qsnn.nn.quantizers import ede_t

    assert [ede_progress(e, 5) for e in range(5)] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert ede_t(ede_progress(5, 6)) == pytest.approx(10 ** (1 - 2 / 6))  # 4.64 at 6 epochs
    assert ede_progress(0, 1) == 0.0


def test_ede_schedule_is_validated():
    """An unknown EDE schedule is refused by the configuration, naming the allowed ones."""
    with pytest.raises(ValueError, match="ede_schedule.*log_up"):
        TrainConfig(ede_schedule="linear")
    with pytest.raises(ValueError, match="log_up"):
        ede_progress(0, 4, "linear")


# ----------------------------------------------------------------------------------------------
# training


@pytest.mark.slow
def test_fit_learns_digits_above_chance():
    """Five epochs on the digits reach well above chance (10 %); the last epoch's EDE t is the authors' 10**0.6."""
    result = fit(_cfg(epochs=5, batch_size=64, time_steps=4))
    assert result.test_acc > 0.6
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert all(b.ede_t == pytest.approx(10 ** (1 - 2 / 5)) for b in binary_layers(result.model))
    assert len(result.test_rates) == 3 and all(0 <= r <= 1 for r in result.test_rates)


def test_history_records_cosine_lr_per_epoch():
    """Epoch e trains at lr (1 + cos(pi e / E)) / 2, and the record has every documented key."""
    result = fit(_cfg(epochs=3, lr=0.2, eval_every=2))
    lrs = [r["lr"] for r in result.history]
    np.testing.assert_allclose(lrs, [0.2 * (1 + math.cos(math.pi * e / 3)) / 2 for e in range(3)])
    keys = {"epoch", "lr", "ede_progress", "train_loss", "train_ce", "train_sr", "train_acc",
            "train_rates", "test_acc", "test_loss", "test_rates", "sign_balance", "epoch_time"}
    assert set(result.history[0]) == keys
    assert result.history[0]["test_acc"] is None and result.history[1]["test_acc"] is not None
    assert result.history[2]["test_acc"] == result.test_acc


def test_fit_is_deterministic_for_a_seed():
    """Two runs with one seed give identical weights; another seed gives different ones."""
    a, b, c = fit(_cfg(epochs=1)), fit(_cfg(epochs=1)), fit(_cfg(epochs=1, seed=4))
    sa, sb, sc = a.model.state_dict(), b.model.state_dict(), c.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


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
    assert torch.utils.deterministic.fill_uninitialized_memory is True


def test_deterministic_runs_do_not_fill_new_tensors():
    """Inside a deterministic run torch does not fill each new tensor with NaN (a pass over every
    output); outside it the flag is what it was."""
    from qsnn.train.runtime import runtime

    with runtime(1, True, torch.device("cpu")):
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.utils.deterministic.fill_uninitialized_memory is False
    assert torch.utils.deterministic.fill_uninitialized_memory is True


# ----------------------------------------------------------------------------------------------
# evaluation


def test_evaluate_matches_direct_computation():
    """evaluate's accuracy and rates equal a direct pass over the whole test split."""
    torch.manual_seed(0)
    model = models.build("small", 10, 1).eval()
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
    from qsnn.train import predict

    pred = predict(model, loaders.test, 3, "cpu")
    assert pred.dtype == torch.int64 and torch.equal(pred, logits.mean(0).argmax(-1))
    np.testing.assert_allclose(res.accuracy, (pred == y).double().mean().item())


# ----------------------------------------------------------------------------------------------
# command line


def test_cli_end_to_end(tmp_path, capsys):
    """qsnn-train with a YAML on the digits for one epoch prints lines and writes metrics.json."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"epochs": 1, "batch_size": 128, "time_steps": 2, "threads": 1,
                                   "model_kwargs": {"widths": [4, 8, 8]}}))
    out = tmp_path / "out"
    rc = main(["--config", str(cfg), "--set", "seed=5", "--set", "model_kwargs.decay=0.25",
               "--output-dir", str(out), "--no-progress"])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "epoch 1/1" in stdout and "final: test accuracy" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["seed"] == 5 and metrics["config"]["model_kwargs"] == {"widths": [4, 8, 8], "decay": 0.25}
    assert len(metrics["history"]) == 1 and 0 <= metrics["test_acc"] <= 1
    assert all(isinstance(v, torch.Tensor) for v in load_checkpoint(out / "model.pt").values())  # a state dict


def test_cli_bad_config_exits_2(tmp_path, capsys):
    """A bad value or an unknown key prints the reason and returns exit status 2."""
    assert main(["--set", "lr=-1", "--output-dir", str(tmp_path)]) == 2
    assert "lr must be a finite real number > 0, got -1" in capsys.readouterr().err
    assert main(["--set", "learning_rate=0.1"]) == 2
    assert "allowed: model, model_kwargs" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_missing_data_exits_2(tmp_path, capsys):
    """Training on a data set whose files are missing prints where to put them and returns 2."""
    rc = main(["--set", "dataset=cifar10", "--set", f"data_dir={tmp_path}", "--set", "device=cpu",
               "--output-dir", str(tmp_path / "out")])
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

    def spy(config, info):
        seen.append(info)
        return config.build_model(info)

    r = fit(_cfg(dataset="emulated_digits", dataset_kwargs={"upsample": 1}, epochs=2,
                 time_steps=3, batch_size=64, model_kwargs={"widths": [8, 16, 16]}), model_factory=spy)
    assert seen[0].in_channels == 2 and tuple(seen[0].input_size) == (10, 10)
    assert r.test_acc > 0.3  # chance is 0.1


def test_cli_sets_dataset_kwargs_by_dotted_key(tmp_path, capsys):
    """--set dataset_kwargs.upsample=1 reaches the emulator and is recorded in metrics.json."""
    out = tmp_path / "out"
    rc = main(["--set", "dataset=emulated_digits", "--set", "dataset_kwargs.upsample=1",
               "--set", "epochs=1", "--set", "time_steps=2", "--set", "threads=1",
               "--set", "model_kwargs.widths=[4, 8, 8]", "--output-dir", str(out), "--no-progress"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["dataset_kwargs"] == {"upsample": 1}


# ----------------------------------------------------------------------------------------------
# the model_factory seam, metrics.json, sign balance


def test_model_factory_builds_the_trained_model():
    """fit(config, model_factory=f) trains what f(config, info) returns; a non-module is refused."""
    calls = []

    def factory(config, info):
        calls.append((config, info.num_classes, info.in_channels))
        return TinySNN(info.num_classes, info.in_channels)

    config = _cfg(epochs=1)
    result = fit(config, model_factory=factory)
    assert calls == [(config, 10, 1)] and isinstance(result.model, TinySNN)
    assert len(result.test_rates) == 1 and result.history[0]["sign_balance"] == []
    with pytest.raises(TypeError, match="must return a torch.nn.Module"):
        fit(config, model_factory=lambda c, i: "not a model")
    with pytest.raises(TypeError, match="model_factory must be callable"):
        fit(config, model_factory=3)


def test_fit_writes_config_metrics_and_model(tmp_path):
    """output_dir receives config.yaml (a TrainConfig), model.pt (weights_only) and metrics.json with
    the history, final and best-epoch test accuracy and the sample count of each split."""
    config = _cfg(epochs=3, output_dir=str(tmp_path))
    result = fit(config)
    assert TrainConfig.from_yaml(tmp_path / "config.yaml") == config
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert state.keys() == result.model.state_dict().keys()  # a plain state dict, as a grid run's
    assert all(torch.equal(state[k], v.cpu()) for k, v in result.model.state_dict().items())
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["test_acc"] == result.test_acc and 0 <= m["test_acc"] <= 1
    accs = [r["test_acc"] for r in m["history"]]
    assert m["best_test_acc"] == max(accs) and accs[m["best_epoch"] - 1] == max(accs)
    loaders = get_loaders("digits", batch_size=64)
    assert m["samples"] == {"train": len(loaders.train.dataset), "test": len(loaders.test.dataset)}
    assert m["samples"] == {"train": 1437, "test": 360}
    for r in m["history"]:
        assert {"train_acc", "train_loss", "test_acc", "test_loss", "test_rates", "sign_balance"} <= set(r)
        assert len(r["test_rates"]) == 3 and len(r["sign_balance"]) == 2  # two binary convs
        assert all(0.9 < h <= 1.0 for h in r["sign_balance"])  # WS-DR balances the signs
    assert {"config", "test_loss", "test_rates", "history", "device", "world_size", "checkpoint_path"} <= set(m)
    assert not (tmp_path / ".lock").exists()


def test_sign_balance_is_the_entropy_of_the_signs():
    """sign_balance gives H(p) in bits for a layer with a fraction p of positive binary weights."""
    from qsnn.train import sign_balance

    model = models.build("small", 10, 1, weight_regulation=False)
    a, b = binary_layers(model)
    with torch.no_grad():
        flat = a.weight.view(-1)
        flat.fill_(-1.0)
        flat[: flat.numel() // 4] = 1.0
        b.weight.fill_(0.3)
    h = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    np.testing.assert_allclose(sign_balance(model), [h, 0.0])
    assert sign_balance(TinySNN(10, 1)) == []


# ----------------------------------------------------------------------------------------------
# output locations: checked before the first epoch, held, never silently overwritten


@pytest.fixture
def no_data(monkeypatch):
    """Make any data loading fail loudly, to prove a check happens before it."""
    import qsnn.train.loop as loop

    def refuse(*a, **k):
        raise AssertionError("data were loaded before the output folders were checked")

    monkeypatch.setattr(loop, "get_loaders", refuse)


@pytest.mark.parametrize("name", ["output_dir", "checkpoint_dir"])
def test_output_location_that_is_a_file_fails_before_training(tmp_path, no_data, name):
    """A path that is a file, or a folder below a file, is refused at once, naming the setting."""
    from qsnn.train import OutputFolderError

    afile = tmp_path / "taken"
    afile.write_text("x")
    with pytest.raises(OutputFolderError, match=f"{name} {re.escape(str(afile))} is a file"):
        fit(_cfg(**{name: str(afile)}))
    below = afile / "sub" / "dir"
    with pytest.raises(OutputFolderError, match=f"{name} .*cannot be created: {re.escape(str(afile))} is a file"):
        fit(_cfg(**{name: str(below)}))


def test_unwritable_output_folder_fails_before_training(tmp_path, no_data, monkeypatch):
    """A folder in which no file can be created is refused at once (the write is tried, since
    permission bits do not bind root; here the refusal of the OS is injected)."""
    import qsnn.train.outputs as outputs
    from qsnn.train import OutputFolderError

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outputs.tempfile, "TemporaryFile", refuse)
    with pytest.raises(OutputFolderError, match="output_dir .* is not a writable folder \\(Permission denied\\)"):
        fit(_cfg(output_dir=str(tmp_path / "out")))


def test_cli_output_location_errors_exit_2(tmp_path, capsys):
    """The command line prints the reason and returns 2 for a file where a folder should be."""
    afile = tmp_path / "taken"
    afile.write_text("x")
    assert main(["--output-dir", str(afile), "--set", "epochs=1", "--no-progress"]) == 2
    assert f"output_dir {afile} is a file" in capsys.readouterr().err
    assert main(["--set", f"checkpoint_dir={afile}", "--output-dir", str(tmp_path / "o"),
                 "--set", "epochs=1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint_dir {afile} is a file" in err and "epoch 1/1" not in capsys.readouterr().out


def test_fresh_run_refuses_an_existing_checkpoint_unless_overwrite(tmp_path):
    """resume=false never replaces an earlier last.pt (same or other configuration) unless overwrite."""
    from qsnn.train import OutputFolderError

    fit(_cfg(epochs=1, checkpoint_dir=str(tmp_path)))
    before = (tmp_path / "last.pt").read_bytes()
    for config in (_cfg(epochs=1, checkpoint_dir=str(tmp_path)), _cfg(epochs=1, seed=9, checkpoint_dir=str(tmp_path))):
        with pytest.raises(OutputFolderError, match="holds the checkpoint of an earlier run.*overwrite: true"):
            fit(config)
    assert (tmp_path / "last.pt").read_bytes() == before
    fit(_cfg(epochs=1, seed=9, checkpoint_dir=str(tmp_path), overwrite=True))
    assert load_checkpoint(tmp_path / "last.pt")["config"]["seed"] == 9


def test_fresh_run_refuses_existing_results_unless_overwrite(tmp_path, capsys):
    """A second run into an output_dir with metrics.json stops (CLI: exit 2) unless overwrite."""
    args = ["--set", "epochs=1", "--set", "time_steps=2", "--set", "threads=1", "--output-dir", str(tmp_path),
            "--no-progress"]
    assert main(args) == 0
    first = (tmp_path / "metrics.json").read_text()
    capsys.readouterr()
    assert main(args + ["--set", "seed=7"]) == 2
    assert "already holds the results of a run (metrics.json, model.pt)" in capsys.readouterr().err
    assert (tmp_path / "metrics.json").read_text() == first
    assert main(args + ["--set", "seed=7", "--set", "overwrite=true"]) == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["seed"] == 7


def test_corrupt_checkpoint_on_resume_names_file_and_remedy(tmp_path):
    """Resuming from a truncated last.pt stops with a message naming the file and what to do."""
    from qsnn.checkpoint import CorruptCheckpointError

    fit(_cfg(epochs=1, checkpoint_dir=str(tmp_path)))
    ckpt = tmp_path / "last.pt"
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    with pytest.raises(CorruptCheckpointError, match=f"{re.escape(str(ckpt))}: the file is truncated.*delete it"):
        fit(_cfg(epochs=2, checkpoint_dir=str(tmp_path), resume=True))


_HOLDER = """
import sys, time
from qsnn.train import TrainConfig, fit
def wait(record):
    print("trained", flush=True)
    time.sleep(120)
fit(TrainConfig(epochs=2, batch_size=128, time_steps=2, threads=1, progress=False,
                output_dir=sys.argv[1], checkpoint_dir=sys.argv[2]), on_epoch=wait)
"""


@pytest.mark.slow
def test_second_run_on_a_held_folder_stops_and_a_dead_holders_lock_is_taken_over(tmp_path, capsys):
    """While one process trains into output_dir / checkpoint_dir, a second run stops at once naming
    the folder and the holder's pid; after the holder is killed its stale lock is taken over."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from qsnn._core.lock import FolderBusyError

    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), OMP_NUM_THREADS="1")
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out), str(ckpt)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "trained"  # inside its first on_epoch
        for folder, kw in ((out, {"output_dir": str(out)}), (ckpt, {"checkpoint_dir": str(ckpt), "resume": True})):
            with pytest.raises(FolderBusyError, match=f"{re.escape(str(folder))} is in use by process {holder.pid}"):
                fit(_cfg(epochs=1, **kw))
        assert main(["--output-dir", str(out), "--set", "epochs=1", "--no-progress"]) == 2
        assert f"is in use by process {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert (out / ".lock").exists()  # left behind by the killed process
    result = fit(TrainConfig(epochs=2, batch_size=128, time_steps=2, threads=1, progress=False,
                             output_dir=str(out), checkpoint_dir=str(ckpt), resume=True))
    assert [r["epoch"] for r in result.history] == [1, 2]  # epoch 1 from the killed run's checkpoint
    assert json.loads((out / "metrics.json").read_text())["test_acc"] == result.test_acc


def test_fit_inside_a_caller_that_holds_the_folder(tmp_path):
    """A caller (an experiment runner) holding output_dir may call fit on it; the lock stays the caller's."""
    from qsnn._core.lock import hold_folder

    with hold_folder(tmp_path, "experiment") as lock:
        fit(_cfg(epochs=1, output_dir=str(tmp_path)))
        assert json.loads(lock.read_text())["what"] == "experiment"
    assert not lock.exists() and (tmp_path / "metrics.json").is_file()


def test_python_dash_m_exits_2_on_an_unusable_output_folder(tmp_path):
    """`python -m qsnn.train` returns exit status 2 with the reason when output_dir lies under a file."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "taken").write_text("x")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "qsnn.train", "--output-dir", str(tmp_path / "taken" / "run"),
                           "--no-progress"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"cannot be created: {tmp_path / 'taken'} is a file" in proc.stderr
