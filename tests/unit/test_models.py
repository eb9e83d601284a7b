"""Tests of qsnn.models: shapes and rates of every architecture, which layers are binary / 8-bit /
full precision, options passed through, no NaN on all-zero inputs, bad arguments, and the real small
net trained by qsnn.train.fit with an exactly reproducible resume."""

import math

import pytest
import torch
from numpy.testing import assert_allclose

from qsnn import models
from qsnn.nn import BinaryConv2d, QuantConv2d, QuantLinear, binary_layers, set_ede_progress
from qsnn.train import TrainConfig, fit

# (name, in_channels, input size, small widths for speed, number of LIF layers)
ARCHS = [
    ("small", 1, (8, 8), None, 3),
    ("conv4", 1, (12, 12), (4, 4, 8, 8), 4),
    ("vgg11", 3, (16, 16), (4, 4, 8, 8, 8, 8, 8, 8), 8),
    ("vggsnn", 2, (48, 48), (4, 4, 8, 8, 8, 8, 8, 8), 8),
    ("resnet19", 3, (16, 16), (4, 8, 8), 1 + 2 * 8),
    ("resnet18", 3, (32, 32), (4, 4, 8, 8), 1 + 2 * 8),
]


def _x(cin, size, t=2, b=3, seed=0):
    return torch.rand(t, b, cin, *size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name, cin, size, widths, n_lif", ARCHS, ids=[a[0] for a in ARCHS])
def test_every_architecture_gives_logits_at_every_step_and_layer_rates(name, cin, size, widths, n_lif):
    """x [T, B, C, H, W] -> logits [T, B, K] and one differentiable rate in [0, 1] per LIF layer."""
    torch.manual_seed(0)
    m = models.build(name, 7, cin, widths=widths, input_size=size)
    logits, rates = m(_x(cin, size), return_rates=True)
    assert logits.shape == (2, 3, 7)
    assert len(rates) == n_lif == len(models.spiking_layers(m))
    assert all(r.ndim == 0 and 0 <= r.item() <= 1 for r in rates)
    (logits.sum() + sum(rates)).backward()
    assert all(p.grad is not None for p in m.parameters())


@pytest.mark.parametrize("name", models.MODELS)
def test_default_widths_build_with_paper_layouts(name):
    """Default widths: VGG-11 9.23 M parameters, ResNet-19 12.57 M, ResNet-18 11.18 M, conv4 64,346 (10 classes).

    conv4 by hand: 3*16*9 + 16*32*9 + 32*32*9 + 32*64*9 conv weights, 2 * (16 + 32 + 32 + 64) BatchNorm
    parameters, 64 * 7 * 7 * 10 + 10 readout = 64,346.
    """
    m = models.build(name, 10, 2 if name == "vggsnn" else 3)
    n = sum(p.numel() for p in m.parameters())
    expect = {"vgg11": 9_228_362, "resnet19": 12_569_226, "resnet18": 11_181_642,
              "vggsnn": 9_268_746, "small": None, "conv4": 64_346}[name]
    if expect is not None:
        assert n == expect
    convs = [mod for mod in m.modules() if isinstance(mod, torch.nn.Conv2d)]
    assert convs[0].out_channels == models.DEFAULT_WIDTHS[name][0]


def test_vgg11_logits_one_sample_full_size():
    """VGG-11 at CIFAR size (3x32x32) runs one step of one sample to 100 logits."""
    m = models.build("vgg11", 100, 3).eval()
    with torch.no_grad():
        assert m(torch.rand(1, 1, 3, 32, 32)).shape == (1, 1, 100)


@pytest.mark.parametrize("name, cin, size, widths, n_lif", ARCHS, ids=[a[0] for a in ARCHS])
def test_qsnn_layers_binary_except_first_conv_and_readout(name, cin, size, widths, n_lif):
    """weight_bits=1: first conv 8-bit, readout 8-bit, every other conv (shortcuts too) binary."""
    m = models.build(name, 5, cin, widths=widths, input_size=size)
    convs = [mod for mod in m.modules() if isinstance(mod, torch.nn.Conv2d)]
    assert isinstance(convs[0], QuantConv2d) and convs[0].bits == 8
    assert all(isinstance(c, BinaryConv2d) for c in convs[1:])
    assert isinstance(m.classifier, QuantLinear) and m.classifier.bits == 8
    if name.startswith("resnet"):
        assert any(b.shortcut is not None and isinstance(b.shortcut[0], BinaryConv2d)
                   for b in m.features if isinstance(b, models.BasicBlock))


@pytest.mark.parametrize("name, cin, size, widths, n_lif", ARCHS, ids=[a[0] for a in ARCHS])
def test_full_precision_baseline_has_plain_layers(name, cin, size, widths, n_lif):
    """weight_bits=32, membrane_bits=None: plain Conv2d/Linear and full-precision LIFs."""
    m = models.build(name, 5, cin, weight_bits=32, membrane_bits=None, widths=widths, input_size=size)
    assert not binary_layers(m)
    assert not any(isinstance(mod, (QuantConv2d, QuantLinear)) for mod in m.modules())
    assert all(lif.membrane_bits is None for lif in models.spiking_layers(m))


def test_options_pass_through_to_every_layer():
    """LIF and binary-layer options reach every layer."""
    m = models.build("resnet19", 3, 3, widths=(4, 8, 8), membrane_bits=3, decay=0.25, threshold=0.5,
                     reset="subtract", weight_regulation=False, estimator="ste",
                     membrane_quantizer="tanh", surrogate="atan")
    for lif in models.spiking_layers(m):
        assert (lif.membrane_bits, lif.decay, lif.threshold, lif.reset, lif.membrane_quantizer,
                lif.surrogate) == (3, 0.25, 0.5, "subtract", "tanh", "atan")
    assert all(not b.weight_regulation and b.estimator == "ste" for b in binary_layers(m))


def test_set_ede_progress_reaches_every_binary_layer_of_a_model():
    """set_ede_progress(model, 1) gives t = 10 to all binary layers of a built model."""
    m = models.build("small", 10, 1)
    set_ede_progress(m, 1.0)
    assert all(b.ede_t == pytest.approx(10.0) for b in binary_layers(m))


@pytest.mark.parametrize("quantizer", ["uniform", "tanh"])
@pytest.mark.parametrize("name, cin, size, widths, n_lif", ARCHS, ids=[a[0] for a in ARCHS])
def test_all_zero_input_gives_finite_logits_and_gradients(name, cin, size, widths, n_lif, quantizer):
    """An all-zero input never produces NaN, with either membrane quantizer."""
    torch.manual_seed(1)
    m = models.build(name, 4, cin, membrane_bits=4, membrane_quantizer=quantizer, widths=widths,
                     input_size=size)
    logits, rates = m(torch.zeros(2, 2, cin, *size), return_rates=True)
    logits.sum().backward()
    assert torch.isfinite(logits).all() and all(math.isfinite(r.item()) for r in rates)
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def test_forward_keeps_no_state_between_calls():
    """Two evaluation passes on the same input are identical (DataParallel-safe: no hidden state)."""
    m = models.build("small", 10, 1).eval()
    x = _x(1, (8, 8), t=4)
    with torch.no_grad():
        a, ra = m(x, return_rates=True)
        b, rb = m(x, return_rates=True)
    assert torch.equal(a, b) and all(torch.equal(p, q) for p, q in zip(ra, rb))


def test_batch_elements_are_independent_in_eval():
    """In eval mode sample i's logits do not depend on the rest of the batch."""
    m = models.build("small", 10, 1, membrane_bits=4).eval()
    x = _x(1, (8, 8), t=3, b=4)
    with torch.no_grad():
        full = m(x)
        one = m(x[:, 2:3])
    assert_allclose(full[:, 2:3].numpy(), one.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(name="alexnet"), "name must be one of"),
        (dict(num_classes=0), "num_classes must be an integer >= 1"),
        (dict(in_channels=2.0), "in_channels must be an integer >= 1"),
        (dict(weight_bits=8), "weight_bits must be 1"),
        (dict(weight_bits=True), "weight_bits must be 1"),
        (dict(membrane_bits=1), "membrane_bits must be an integer >= 2"),
        (dict(decay=2.0), "decay must be a number in"),
        (dict(threshold=0), "threshold must be a finite number > 0"),
        (dict(reset="hard"), "reset must be one of"),
        (dict(weight_regulation=1), "weight_regulation must be true"),
        (dict(estimator="bnn"), "estimator must be one of"),
        (dict(membrane_quantizer="log"), "membrane_quantizer must be one of"),
        (dict(surrogate="erf"), "surrogate must be one of"),
        (dict(widths=(8, 16)), "widths must be 3 integers >= 1 for small"),
        (dict(widths=(8, 0, 16)), "widths must be 3 integers >= 1"),
        (dict(widths="abc"), "widths must be 3 integers"),
        (dict(input_size=(8,)), r"input_size must be \(H, W\)"),
        (dict(input_size=(8, -1)), r"input_size must be \(H, W\)"),
        (dict(name="vggsnn", input_size=(8, 8)), r"at least \(16, 16\)"),
        (dict(name="conv4", input_size=(3, 8)), r"at least \(4, 4\)"),
        (dict(name="conv4", widths=(8, 16, 32)), "widths must be 4 integers >= 1 for conv4"),
    ],
)
def test_build_rejects_bad_arguments(kwargs, match):
    """Every bad builder argument raises ValueError naming it."""
    args = dict(name="small", num_classes=10, in_channels=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        models.build(**args)


@pytest.mark.parametrize("x", [torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 3, 8, 8),
                               torch.zeros(2, 1, 1, 8, 8, dtype=torch.int64)])
def test_forward_rejects_bad_inputs(x):
    """x must be floating point [T, B, C, H, W] with C = in_channels."""
    with pytest.raises(ValueError, match=r"\[T, B, 1, H, W\]"):
        models.build("small", 10, 1)(x)


# ----------------------------------------------------------------------------------------------
# the real small net with qsnn.train


def _cfg(**kw):
    base = dict(model="small", epochs=2, batch_size=128, time_steps=2, progress=False, threads=1, seed=5,
                model_kwargs=dict(membrane_bits=2))
    base.update(kw)
    return TrainConfig(**base)


def _strip_time(history):
    return [{k: v for k, v in r.items() if k != "epoch_time"} for r in history]


@pytest.mark.slow
def test_real_small_net_trains_on_digits_and_resumes_exactly(tmp_path):
    """fit trains the real Q-SNN small net above chance; 1 epoch + resume == 2 epochs bit for bit."""
    straight = fit(_cfg(checkpoint_dir=str(tmp_path / "a")))
    assert straight.test_acc > 0.3
    assert len(straight.test_rates) == 3 and all(0 <= r <= 1 for r in straight.test_rates)
    last_t = 10 ** (1 - 2 / straight.config.epochs)  # the authors' Log_UP in the last epoch
    assert all(b.ede_t == pytest.approx(last_t) for b in binary_layers(straight.model))

    class Stop(Exception):
        pass

    def stop_after_one(record):
        if record["epoch"] == 1:
            raise Stop

    with pytest.raises(Stop):
        fit(_cfg(checkpoint_dir=str(tmp_path / "b")), on_epoch=stop_after_one)
    resumed = fit(_cfg(checkpoint_dir=str(tmp_path / "b"), resume=True))
    s1, s2 = straight.model.state_dict(), resumed.model.state_dict()
    assert s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)
    assert _strip_time(straight.history) == _strip_time(resumed.history)
