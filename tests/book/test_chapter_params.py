"""Tests of the paper-scale parameter sets in book/params: each is a valid TrainConfig that follows
the recipe of the Q-SNN paper's experiments (Wei et al. 2024), describes its data, and builds its model."""

from pathlib import Path

import pytest
import torch

from qsnn.data import dataset_info
from qsnn.train import TrainConfig

PARAMS = sorted((Path(__file__).resolve().parents[2] / "book" / "params").glob("*.yaml"))
IDS = [p.stem for p in PARAMS]


def test_there_are_parameter_sets():
    """book/params holds the CIFAR and the DVS parameter sets."""
    assert {"vgg11_cifar10", "vgg11_dvs_cifar10", "vggsnn_dvs_cifar10"} <= set(IDS)


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
def test_parses_into_train_config(path):
    """The YAML loads into a TrainConfig (unknown keys or bad values would raise)."""
    config = TrainConfig.from_yaml(path)
    assert config.model == path.stem.split("_")[0]
    assert path.stem.endswith(config.dataset.replace("cifar10dvs", "dvs_cifar10"))


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
def test_follows_the_recipe(path):
    """SGD lr 0.1, momentum 0.9, wd 1e-4, lambda_SR 5e-3, batch 64, 300 epochs, binary weights."""
    c = TrainConfig.from_yaml(path)
    assert (c.lr, c.momentum, c.weight_decay, c.lambda_sr, c.sr_target) == (0.1, 0.9, 1e-4, 5e-3, 0.5)
    assert (c.batch_size, c.epochs) == (64, 300)
    assert c.model_kwargs["weight_bits"] == 1 and c.model_kwargs["weight_regulation"] is True


@pytest.mark.parametrize("stem", ["vgg11_dvs_cifar10", "vggsnn_dvs_cifar10"])
def test_dvs_sets_use_t10_and_48x48_frames(stem):
    """The DVS parameter sets train on CIFAR10-DVS at T = 10 with 2x48x48 frames."""
    c = TrainConfig.from_yaml(PARAMS[IDS.index(stem)])
    info = dataset_info(c.dataset, c.dataset_kwargs)
    assert c.time_steps == 10 and info.temporal
    assert (info.num_classes, info.in_channels, info.input_size) == (10, 2, (48, 48))


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
def test_builds_its_model_on_the_meta_device(path):
    """qsnn.models.build accepts the configuration; parameters are allocated on no device."""
    models = pytest.importorskip("qsnn.models")
    c = TrainConfig.from_yaml(path)
    info = dataset_info(c.dataset, c.dataset_kwargs)
    with torch.device("meta"):
        model = models.build(c.model, num_classes=info.num_classes, in_channels=info.in_channels,
                             input_size=tuple(info.input_size), **c.model_kwargs)
    n = sum(p.numel() for p in model.parameters())
    assert n > 1_000_000  # paper-scale networks: millions of weights


@pytest.mark.parametrize("stem", ["vgg11_dvs_cifar10", "vggsnn_dvs_cifar10"])
def test_dvs_model_runs_one_step_on_a_48x48_frame(stem):
    """The DVS networks map frames [T, B, 2, 48, 48] to logits [T, B, 10] (one step, one sample)."""
    from qsnn.models import build

    c = TrainConfig.from_yaml(PARAMS[IDS.index(stem)])
    info = dataset_info(c.dataset, c.dataset_kwargs)
    torch.manual_seed(0)
    model = build(c.model, num_classes=info.num_classes, in_channels=info.in_channels,
                  input_size=tuple(info.input_size), **c.model_kwargs).eval()
    with torch.no_grad():
        logits = model(torch.rand(1, 1, 2, 48, 48))
    assert tuple(logits.shape) == (1, 1, 10) and torch.isfinite(logits).all()


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
def test_uses_the_tanh_membrane_quantizer_of_the_authors_code(path):
    """Every parameter set stores 8-bit membranes with the tanh quantizer and its per-step scale."""
    c = TrainConfig.from_yaml(path)
    assert (c.model_kwargs["membrane_bits"], c.model_kwargs["membrane_quantizer"]) == (8, "tanh")


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
def test_time_steps_follow_the_authors_code(path):
    """ResNet-19 trains at T = 2, VGG-11 on CIFAR at T = 6, the DVS networks at T = 10."""
    c = TrainConfig.from_yaml(path)
    expected = 10 if "dvs" in path.stem else 2 if c.model == "resnet19" else 6
    assert c.time_steps == expected


# what each file must name as a deviation from the authors' code (words of its comment)
DEVIATIONS = {"cifar": ("AutoAugment", "Cutout"), "dvs": ("flips and rolls",), "resnet19": ("shortcut",),
              "vggsnn": ("bias",), "all": ("best-epoch checkpoint", "fan-out")}


@pytest.mark.parametrize("path", PARAMS, ids=IDS)
def test_lists_its_deviations_from_the_authors_code(path):
    """The header comment names every unsupported part of the authors' recipe that applies to the file."""
    comment = " ".join(line.lstrip("#").strip() for line in path.read_text().splitlines() if line.startswith("#"))
    keys = ["all", "dvs" if "dvs" in path.stem else "cifar"] + [k for k in ("resnet19", "vggsnn")
                                                                  if path.stem.startswith(k)]
    assert "Deviations from the authors' code" in comment
    missing = [w for k in keys for w in DEVIATIONS[k] if w not in comment]
    assert not missing, missing
