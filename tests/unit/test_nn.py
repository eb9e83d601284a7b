"""Tests of qsnn.nn: membrane and weight quantizers, binary layers with the EDE estimator, the fused
multi-step LIF layer (against a plain autograd reference and against Part I's event-driven LIF),
surrogates, the spike-rate loss and the entropy helpers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

import qsnn
from qsnn.nn import (
    LIF,
    RESETS,
    SURROGATES,
    BinaryConv2d,
    BinaryLinear,
    QuantConv2d,
    QuantLinear,
    binarize_weight,
    binary_entropy,
    ede_grad,
    ede_k,
    ede_t,
    fake_quantize_weight,
    levels_per_side,
    lif_multistep,
    quantize_membrane,
    set_ede_progress,
    sign_balance,
    sign_ede,
    sign_ste,
    spike_rate_loss,
    surrogate_grad,
)

from _cases import all_pairs, uncovered_pairs

PROPS = settings(deadline=None, max_examples=40)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------------------------
# membrane quantizer


def test_two_bit_membrane_quantizer_has_levels_minus_s_zero_s():
    """b = 2 maps every potential to {-s, 0, +s}, and all three occur."""
    u = torch.linspace(-3, 3, 601)
    q = quantize_membrane(u, 2, scale=1.5)
    assert set(q.unique().tolist()) == {-1.5, 0.0, 1.5}


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 8])
def test_membrane_quantizer_has_2_pow_b_minus_1_minus_1_levels_per_side(bits):
    """A dense ramp over [-2s, 2s] hits exactly 2n + 1 levels, n = 2^(b-1) - 1, spaced s/n."""
    n = 2 ** (bits - 1) - 1
    assert levels_per_side(bits) == n
    q = quantize_membrane(torch.linspace(-2.0, 2.0, 20001, dtype=torch.float64), bits, scale=0.75)
    levels = q.unique()
    assert levels.numel() == 2 * n + 1
    assert_allclose(levels.numpy(), np.arange(-n, n + 1) * 0.75 / n, atol=1e-12)


def test_membrane_quantizer_rounds_to_nearest_level():
    """Inside the range Q_b is round-to-nearest: |Q_b(u) - u| <= s / (2n)."""
    u = torch.rand(1000, generator=_gen(), dtype=torch.float64) * 2 - 1
    q = quantize_membrane(u, 4, scale=1.0)
    assert (q - u).abs().max().item() <= 1 / 14 + 1e-12


def test_membrane_quantizer_gradient_is_straight_through_inside_clip():
    """d Q_b / du is 1 inside [-s, s] (round passed through) and 0 where clip saturates."""
    u = torch.tensor([-2.0, -0.9, -0.3, 0.0, 0.4, 0.99, 1.5], requires_grad=True)
    quantize_membrane(u, 3, scale=1.0).sum().backward()
    assert_array_equal(u.grad.numpy(), [0, 1, 1, 1, 1, 1, 0])


def test_tanh_membrane_quantizer_uses_max_abs_scale():
    """The tanh variant quantizes tanh(u) with s = max |tanh(u)|: the extreme maps to itself."""
    u = torch.tensor([-0.2, 0.1, 0.7, 3.0], dtype=torch.float64)
    q = quantize_membrane(u, 3, variant="tanh")
    m = math.tanh(3.0)
    assert_allclose(q.numpy(), np.round(np.tanh(u.numpy()) / m * 3) / 3 * m)
    assert q[-1].item() == pytest.approx(m)


def test_tanh_membrane_quantizer_all_zero_is_zero_not_nan():
    """An all-zero tensor gives zeros and finite gradients (the authors' code gives NaN)."""
    u = torch.zeros(5, requires_grad=True)
    q = quantize_membrane(u, 4, variant="tanh")
    q.sum().backward()
    assert_array_equal(q.detach().numpy(), 0)
    assert torch.isfinite(u.grad).all()


def test_tanh_membrane_quantizer_gradient_is_tanh_derivative():
    """Round is passed straight through and the scale detached, so dQ/du = 1 - tanh^2(u)."""
    u = torch.tensor([-1.0, 0.2, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    quantize_membrane(u, 4, variant="tanh").sum().backward()
    assert_allclose(u.grad.numpy(), 1 - np.tanh(u.detach().numpy()) ** 2)


def test_membrane_quantizer_accepts_tensor_scale():
    """A positive scalar tensor works as the scale (a calibrated one)."""
    u = torch.linspace(-1, 1, 11)
    assert_array_equal(quantize_membrane(u, 3, torch.tensor(0.5)).numpy(),
                       quantize_membrane(u, 3, 0.5).numpy())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(bits=1), "bits must be an integer >= 2"),
        (dict(bits=0), "bits must be an integer >= 2"),
        (dict(bits=2.0), "bits must be an integer >= 2"),
        (dict(bits=True), "bits must be an integer >= 2"),
        (dict(bits=4, variant="log"), "variant must be one of"),
        (dict(bits=4, scale=0.0), "scale must be a finite number > 0"),
        (dict(bits=4, scale=-1.0), "scale must be a finite number > 0"),
        (dict(bits=4, scale=float("nan")), "scale must be a finite number > 0"),
        (dict(bits=4, scale=torch.tensor(-1.0)), "scale must be a finite number > 0"),
        (dict(bits=4, scale=1.0, variant="tanh"), "scale must be None for variant 'tanh'"),
    ],
)
def test_membrane_quantizer_rejects_bad_arguments(kwargs, match):
    """Bad bits, variant or scale raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        quantize_membrane(torch.zeros(3), **kwargs)


def test_one_bit_error_explains_why():
    """b = 1 is rejected with the reason (no level besides 0)."""
    with pytest.raises(ValueError, match="b = 1 leaves no level"):
        quantize_membrane(torch.zeros(3), 1)


# ----------------------------------------------------------------------------------------------
# 8-bit weights


def test_fake_quantized_weight_has_at_most_255_levels_and_keeps_the_max():
    """8-bit fake quantization: <= 2*127 + 1 levels on a grid of max|w| / 127, max|w| exact."""
    w = torch.randn(64, 27, generator=_gen(1), dtype=torch.float64)
    q = fake_quantize_weight(w, 8)
    m = w.abs().max().item()
    assert q.unique().numel() <= 255
    assert_allclose((q / (m / 127)).numpy(), np.round((q / (m / 127)).numpy()), atol=1e-9)
    assert q.abs().max().item() == pytest.approx(m)
    assert (q - w).abs().max().item() <= m / 254 + 1e-12


def test_fake_quantized_weight_gradient_is_straight_through_and_zero_safe():
    """The gradient is 1 everywhere (no clipping at max |w|); an all-zero weight stays 0."""
    w = torch.randn(10, generator=_gen(2), requires_grad=True)
    fake_quantize_weight(w, 8).sum().backward()
    assert_array_equal(w.grad.numpy(), 1)
    z = fake_quantize_weight(torch.zeros(4), 8)
    assert_array_equal(z.numpy(), 0)


@pytest.mark.parametrize("layer", ["conv", "linear"])
def test_quant_layers_forward_with_their_quantized_weight_and_fp_bias(layer):
    """QuantConv2d / QuantLinear compute with quantized_weight() and the untouched FP32 bias."""
    torch.manual_seed(0)
    if layer == "conv":
        m = QuantConv2d(3, 4, 3, padding=1, bias=True)
        x = torch.randn(2, 3, 5, 5)
        ref = F.conv2d(x, fake_quantize_weight(m.weight, 8), m.bias, padding=1)
    else:
        m = QuantLinear(6, 3)
        x = torch.randn(2, 6)
        ref = F.linear(x, fake_quantize_weight(m.weight, 8), m.bias)
    assert_allclose(m(x).detach().numpy(), ref.detach().numpy(), rtol=1e-6)
    assert m.quantized_weight().unique().numel() <= 255
    assert m.bias.dtype == torch.float32


def test_quant_layers_reject_bad_bits():
    """QuantConv2d / QuantLinear reject bits < 2."""
    with pytest.raises(ValueError, match="bits"):
        QuantConv2d(1, 1, 3, bits=1)
    with pytest.raises(ValueError, match="bits"):
        QuantLinear(1, 1, bits=0)


# ----------------------------------------------------------------------------------------------
# binary weights


def _is_power_of_two(x: torch.Tensor) -> bool:
    e = torch.log2(x)
    return bool(torch.equal(e, torch.round(e)))


@pytest.mark.parametrize("regulation", [True, False, "scale"])
@pytest.mark.parametrize("estimator", ["ede", "ste"])
def test_binary_conv_weights_are_plus_minus_power_of_two_per_filter(regulation, estimator):
    """Every filter of a binary conv is +-s_c with one s_c per filter, a power of two."""
    torch.manual_seed(0)
    m = BinaryConv2d(8, 16, 3, weight_regulation=regulation, estimator=estimator)
    w = m.quantized_weight().detach()
    s = w.abs().reshape(16, -1)
    assert torch.equal(s, s[:, :1].expand_as(s))
    assert _is_power_of_two(s[:, 0])


def test_binary_scale_is_power_of_two_of_mean_abs():
    """s_c = 2^round(log2(mean |x_c|)) of the standardized (or raw) filter x_c."""
    w = torch.tensor([[0.3, -0.2, 0.1, -0.5], [3.0, 2.0, -5.0, 1.0]], dtype=torch.float64)
    raw = binarize_weight(w, regulation=False)
    assert_allclose(raw.abs()[:, 0].numpy(), [2.0 ** round(math.log2(0.275)), 2.0 ** round(math.log2(2.75))])
    assert_array_equal(torch.sign(raw).numpy(), torch.sign(w).numpy())
    std = (w - w.mean(1, keepdim=True)) / w.std(1, unbiased=False, keepdim=True)
    reg = binarize_weight(w, regulation=True)
    expect = 2.0 ** torch.round(torch.log2(std.abs().mean(1)))
    assert_allclose(reg.abs()[:, 0].numpy(), expect.numpy())
    assert_array_equal(torch.sign(reg).numpy(), torch.where(std >= 0, 1.0, -1.0).numpy())


def test_scale_regulation_keeps_raw_signs_on_unit_scale():
    """"scale": signs of the raw weights, s_c from w_c / rms(w_c); the EDE sees the unit-scale x_c, so the
    gradient of the latent weights is that of the standardized filter's scale (1/rms), not of the raw one."""
    w = torch.tensor([[0.03, -0.02, 0.01, -0.05], [0.3, 0.2, -0.5, 0.1]], dtype=torch.float64)
    rms = w.pow(2).mean(1, keepdim=True).sqrt()
    x = w / rms
    q = binarize_weight(w, regulation="scale")
    assert_array_equal(torch.sign(q).numpy(), torch.sign(w).numpy())
    assert_allclose(q.abs()[:, 0].numpy(), (2.0 ** torch.round(torch.log2(x.abs().mean(1)))).numpy())
    # the same filters scaled by 10: identical binary weights (the raw arm's would change by 8x)
    assert torch.equal(binarize_weight(10 * w, regulation="scale"), q)
    assert not torch.equal(binarize_weight(10 * w, regulation=False), binarize_weight(w, regulation=False))
    # gradient through the EDE at t: d/dw of sum(sign_ede(w / rms)) = ede_grad(x) / rms - x * mean(ede_grad(x) x) / rms
    t = 1.0
    latent = w.clone().requires_grad_(True)
    binarize_weight(latent, regulation="scale", t=t).sum().backward()
    g = ede_grad(x, t) * 2.0 ** torch.round(torch.log2(x.abs().mean(1, keepdim=True)))
    expect = g / rms - x * (g * x).mean(1, keepdim=True) / rms
    assert_allclose(latent.grad.numpy(), expect.numpy(), rtol=1e-10, atol=1e-12)
    assert_array_equal(binarize_weight(torch.zeros(2, 3), regulation="scale").numpy(), 1)


def test_weight_regulation_balances_signs_of_shifted_weights():
    """With regulation every filter of shifted latent weights is ~half +1; without, mostly +1."""
    m = BinaryConv2d(64, 32, 3, weight_regulation=True)
    with torch.no_grad():
        m.weight.copy_(torch.randn(m.weight.shape, generator=_gen(3)) + 0.8)
    balanced = sign_balance(m.quantized_weight())
    assert (balanced - 0.5).abs().max().item() < 0.1
    m.weight_regulation = False
    skewed = sign_balance(m.quantized_weight())
    assert skewed.min().item() > 0.7


def test_sign_of_zero_is_plus_one():
    """sign(0) = +1, so a binary weight is never 0 (exactly +-s)."""
    assert_array_equal(sign_ede(torch.zeros(3), 1.0).numpy(), 1)
    assert_array_equal(sign_ste(torch.zeros(3)).numpy(), 1)
    assert_array_equal(binarize_weight(torch.zeros(2, 3)).numpy(), 1)


@pytest.mark.parametrize("t", [0.1, 0.5, 1.0, 3.0, 10.0])
def test_ede_gradient_is_k_t_one_minus_tanh_squared(t):
    """EDE: d sign(x)/dx = k t (1 - tanh^2(t x)) with k = max(1/t, 1)."""
    x = torch.linspace(-3, 3, 61, dtype=torch.float64, requires_grad=True)
    sign_ede(x, t).sum().backward()
    k = max(1 / t, 1.0)
    assert ede_k(t) == k
    expect = k * t * (1 - np.tanh(t * x.detach().numpy()) ** 2)
    assert_allclose(x.grad.numpy(), expect, rtol=1e-12, atol=1e-14)
    assert_allclose(ede_grad(x.detach(), t).numpy(), expect, rtol=1e-12, atol=1e-14)


def test_ste_gradient_is_clipped_identity():
    """STE: d sign(x)/dx = 1 for |x| <= 1, else 0."""
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    sign_ste(x).sum().backward()
    assert_array_equal(x.grad.numpy(), [0, 1, 1, 1, 1, 1, 0])


def test_ede_schedule_endpoints_and_midpoint():
    """t runs from 0.1 (p = 0) through 1 (p = 1/2) to 10 (p = 1)."""
    assert ede_t(0.0) == pytest.approx(0.1)
    assert ede_t(0.5) == pytest.approx(1.0)
    assert ede_t(1.0) == pytest.approx(10.0)


@PROPS
@given(st.floats(0, 1), st.floats(0, 1))
def test_ede_schedule_is_log_uniform(p, q):
    """log10 t is linear in p with slope 2: log10 t(p) - log10 t(q) = 2 (p - q)."""
    assert math.log10(ede_t(p)) - math.log10(ede_t(q)) == pytest.approx(2 * (p - q), abs=1e-12)


@pytest.mark.parametrize("p", [-0.1, 1.1, float("nan"), "half", True])
def test_ede_schedule_rejects_progress_outside_unit_interval(p):
    """A progress outside [0, 1] raises ValueError naming it."""
    with pytest.raises(ValueError, match="progress must be a number in"):
        ede_t(p)


def test_set_ede_progress_sets_t_of_every_binary_layer_and_the_gradient():
    """set_ede_progress(model, p) gives every binary layer t(p), and backward uses it."""
    model = torch.nn.Sequential(BinaryConv2d(2, 4, 3), BinaryLinear(4, 3), QuantLinear(3, 2))
    assert set_ede_progress(model, 0.75) == pytest.approx(ede_t(0.75))
    assert model[0].ede_t == model[1].ede_t == pytest.approx(10 ** 0.5)
    with pytest.raises(ValueError, match="progress"):
        set_ede_progress(model, 2.0)


def test_binary_layer_gradient_reaches_latent_weights_through_ede():
    """The latent weight's gradient is the EDE-weighted gradient (through the standardization)."""
    torch.manual_seed(1)
    m = BinaryLinear(5, 3, bias=False, weight_regulation=False)
    m.ede_t = 2.0
    x = torch.randn(4, 5)
    m(x).sum().backward()
    scale = 2.0 ** torch.round(torch.log2(m.weight.detach().abs().mean(1, keepdim=True)))
    expect = x.sum(0).expand(3, 5) * scale * ede_grad(m.weight.detach(), 2.0)
    assert_allclose(m.weight.grad.numpy(), expect.numpy(), rtol=1e-5)


@pytest.mark.parametrize("cls", ["conv", "linear"])
def test_binary_layers_forward_with_quantized_weight(cls):
    """The forward pass equals conv/linear with quantized_weight() exactly."""
    torch.manual_seed(2)
    if cls == "conv":
        m = BinaryConv2d(3, 4, 3, padding=1, stride=2)
        x = torch.randn(2, 3, 8, 8)
        ref = F.conv2d(x, m.quantized_weight(), None, stride=2, padding=1)
    else:
        m = BinaryLinear(6, 3)
        x = torch.randn(2, 6)
        ref = F.linear(x, m.quantized_weight(), m.bias)
    assert torch.equal(m(x), ref)


def test_binary_layers_reject_bad_options():
    """Unknown estimator or non-boolean regulation raise ValueError naming them."""
    with pytest.raises(ValueError, match="estimator must be one of"):
        BinaryConv2d(1, 1, 3, estimator="tanh")
    with pytest.raises(ValueError, match="weight_regulation"):
        BinaryLinear(1, 1, weight_regulation="yes")
    with pytest.raises(ValueError, match="t must be a number > 0"):
        binarize_weight(torch.ones(2, 2), t=0.0)


# ----------------------------------------------------------------------------------------------
# LIF: reference implementation with plain autograd


class _RefSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, threshold, reset, surrogate):
        ctx.save_for_backward(h)
        ctx.cfg = threshold, surrogate
        if reset == "mod":
            return torch.floor(h / threshold).clamp(min=0)
        return (h > threshold).to(h.dtype)

    @staticmethod
    def backward(ctx, g):
        (h,) = ctx.saved_tensors
        threshold, surrogate = ctx.cfg
        return g * surrogate_grad(h - threshold, surrogate), None, None, None


def _reference_lif(x, decay=0.5, threshold=1.0, reset="zero", bits=None, quantizer="uniform",
                   scale=None, surrogate="triangle", detach_reset=False):
    """The layer's recursion (module docstring of qsnn.nn.neurons) step by step with autograd (STE quantizer, surrogate spike)."""
    u = torch.zeros_like(x[0])
    out = []
    for t in range(x.shape[0]):
        h = decay * u + x[t]
        s = _RefSpike.apply(h, threshold, reset, surrogate)
        sr = s.detach() if detach_reset else s
        u = h * (1 - sr) if reset == "zero" else h - threshold * sr
        if bits is not None:
            u = quantize_membrane(u, bits, None if quantizer == "tanh" else (scale or threshold), quantizer)
        out.append(s)
    return torch.stack(out)


CASES = [
    dict(reset="zero"),
    dict(reset="subtract"),
    dict(reset="mod", threshold=0.7),
    dict(reset="zero", bits=2),
    dict(reset="zero", bits=4, decay=0.9),
    dict(reset="subtract", bits=3, scale=2.0),
    dict(reset="mod", bits=4, threshold=0.8),
    dict(reset="zero", bits=8, quantizer="tanh"),
    dict(reset="subtract", bits=3, quantizer="tanh"),
    dict(reset="zero", surrogate="sigmoid"),
    dict(reset="subtract", surrogate="atan", decay=1.0),
    dict(reset="zero", detach_reset=True),
    dict(reset="subtract", detach_reset=True, bits=4),
    dict(reset="zero", decay=0.0),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_fused_lif_matches_autograd_reference_forward_and_backward(case):
    """The fused LIF gives the reference's spikes and the reference's BPTT gradient."""
    x = (torch.randn(6, 3, 17, generator=_gen(4), dtype=torch.float64) * 1.2 + 0.6)
    g = torch.randn(6, 3, 17, generator=_gen(5), dtype=torch.float64)
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    lif = LIF(threshold=case.get("threshold", 1.0), decay=case.get("decay", 0.5), reset=case["reset"],
              membrane_bits=case.get("bits"), membrane_quantizer=case.get("quantizer", "uniform"),
              membrane_scale=case.get("scale"), surrogate=case.get("surrogate", "triangle"),
              detach_reset=case.get("detach_reset", False))
    s1 = lif(x1)
    s2 = _reference_lif(x2, **{"decay": 0.5, "threshold": 1.0, **case})
    assert_array_equal(s1.detach().numpy(), s2.detach().numpy())
    (s1 * g).sum().backward()
    (s2 * g).sum().backward()
    assert_allclose(x1.grad.numpy(), x2.grad.numpy(), rtol=1e-10, atol=1e-12)


def _kernels_and_torch(lif, x, g, monkeypatch):
    """``[(spikes, input gradient) with the CPU kernels, the same with the torch loop]`` of ``lif`` on x."""
    import qsnn.nn.neurons as neurons

    out = []
    for use in (True, False):
        monkeypatch.setattr(neurons, "USE_KERNELS", use)
        xi = x.clone().requires_grad_()
        s = lif(xi)
        (s * g).sum().backward()
        out.append((s.detach(), xi.grad))
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_cpu_kernels_equal_the_torch_path_in_float32(case, monkeypatch):
    """The numba CPU kernels and the torch loop give the same spikes and gradients (float32)."""
    # 4 x 333 neurons: several kernel blocks, the last one partial.
    x = torch.randn(5, 4, 333, generator=_gen(10)) * 1.2 + 0.6
    g = torch.randn(5, 4, 333, generator=_gen(11))
    lif = LIF(threshold=case.get("threshold", 1.0), decay=case.get("decay", 0.5), reset=case["reset"],
              membrane_bits=case.get("bits"), membrane_quantizer=case.get("quantizer", "uniform"),
              membrane_scale=case.get("scale"), surrogate=case.get("surrogate", "triangle"),
              detach_reset=case.get("detach_reset", False))
    out = _kernels_and_torch(lif, x, g, monkeypatch)
    assert torch.equal(out[0][0], out[1][0])
    assert_allclose(out[0][1].numpy(), out[1][1].numpy(), rtol=1e-5, atol=1e-6)


# The options of the CPU kernels; each combination (with the dtype) is a kernel of its own. 3 x 347
# neurons = 1041 (two full blocks of 512 and a partial one).
KERNEL_OPTIONS = {
    "reset": ["zero", "subtract", "mod"],
    "membrane": [(None, "uniform"), (2, "uniform"), (4, "uniform"), (8, "uniform"), (2, "tanh"), (8, "tanh")],
    "surrogate": ["triangle", "sigmoid", "atan"],
    "dtype": ["float32", "float64"],
    "detach_reset": [False, True],
}


def _kernel_case(reset, membrane, surrogate, dtype, detach_reset=False):
    bits, quantizer = membrane
    return dict(reset=reset, bits=bits, quantizer=quantizer, surrogate=surrogate, dtype=dtype,
                detach_reset=detach_reset)


# Every option and every pair of options, in 19 kernels (run always) ...
KERNEL_COVER = [_kernel_case(**c) for c in all_pairs(KERNEL_OPTIONS)]
# ... and the product of reset x membrane x surrogate x dtype, with detach_reset on a subset: 126 kernels
# (marked exhaustive: `make exhaustive`).
KERNEL_CASES = [
    _kernel_case(r, m, sg, dt)
    for r in KERNEL_OPTIONS["reset"]
    for m in KERNEL_OPTIONS["membrane"]
    for sg in KERNEL_OPTIONS["surrogate"]
    for dt in KERNEL_OPTIONS["dtype"]
] + [
    _kernel_case(r, m, "triangle", dt, True)
    for r in KERNEL_OPTIONS["reset"]
    for m in ((None, "uniform"), (4, "uniform"), (4, "tanh"))
    for dt in KERNEL_OPTIONS["dtype"]
]


def test_kernel_cover_has_every_pair_of_options():
    """The covering list combines every value of each kernel option with every value of every other."""
    cases = [dict(c, membrane=(c["bits"], c["quantizer"])) for c in KERNEL_COVER]
    assert uncovered_pairs(KERNEL_OPTIONS, cases) == set()


def _kernel_vs_torch(case, monkeypatch, shape=(5, 3, 347), seed=20):
    dtype = getattr(torch, case["dtype"])
    threshold = 0.8 if case["reset"] == "mod" else 1.0
    x = (torch.randn(*shape, generator=_gen(seed), dtype=torch.float64) * 1.2 + 0.6).to(dtype)
    g = torch.randn(*shape, generator=_gen(seed + 1), dtype=torch.float64).to(dtype)
    lif = LIF(threshold=threshold, reset=case["reset"], membrane_bits=case["bits"],
              membrane_quantizer=case["quantizer"], surrogate=case["surrogate"],
              detach_reset=case.get("detach_reset", False))
    return _kernels_and_torch(lif, x, g, monkeypatch)


def _case_id(case):
    return "-".join(f"{k}={v}" for k, v in case.items())


@pytest.mark.parametrize("case", KERNEL_COVER, ids=_case_id)
def test_kernels_covering_every_pair_of_options_equal_the_torch_path(case, monkeypatch):
    """Spikes equal, gradients equal to rounding, for kernels that combine every pair of options."""
    _check_kernel_case(case, monkeypatch)


@pytest.mark.exhaustive
@pytest.mark.parametrize("case", KERNEL_CASES, ids=_case_id)
def test_every_kernel_specialisation_equals_the_torch_path(case, monkeypatch):
    """Spikes equal, gradients equal to rounding, for every compiled kernel and both dtypes."""
    _check_kernel_case(case, monkeypatch)


def _check_kernel_case(case, monkeypatch):
    (s_k, g_k), (s_t, g_t) = _kernel_vs_torch(case, monkeypatch)
    assert s_k.dtype == s_t.dtype == getattr(torch, case["dtype"])
    assert torch.equal(s_k, s_t)
    assert s_k.sum() > 0  # the inputs make the neurons fire, so the reset paths are exercised
    if case["dtype"] == "float64":
        assert_allclose(g_k.numpy(), g_t.numpy(), rtol=1e-10, atol=1e-12)
    else:
        assert_allclose(g_k.numpy(), g_t.numpy(), rtol=1e-5, atol=1e-6)
    assert g_k.abs().sum() > 0


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 1, 511), (2, 2, 513), (7, 1, 5)])
def test_kernels_equal_the_torch_path_at_block_edges(shape, monkeypatch):
    """Sizes around the block of 512 neurons and a single step or neuron."""
    for case in (dict(reset="zero", bits=2, quantizer="uniform", surrogate="triangle", dtype="float32"),
                 dict(reset="subtract", bits=4, quantizer="tanh", surrogate="atan", dtype="float64")):
        (s_k, g_k), (s_t, g_t) = _kernel_vs_torch(case, monkeypatch, shape=shape, seed=30)
        assert torch.equal(s_k, s_t)
        assert_allclose(g_k.numpy(), g_t.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("chunks", [1, 3, 7, 64])
def test_kernels_equal_the_torch_path_for_any_split_into_chunks(chunks, monkeypatch):
    """The kernels split the neurons into chunks of blocks (the tanh forward: into chunks of neurons,
    with one peak each); 3 x 4 x 2600 = 10,400 neurons are 21 blocks, so chunks of several blocks,
    a partial last chunk and more chunks than blocks all occur."""
    from qsnn.nn import _lif_kernels

    monkeypatch.setattr(_lif_kernels, "chunks", lambda: chunks)
    for case in (dict(reset="zero", bits=2, quantizer="uniform", surrogate="triangle", dtype="float32"),
                 dict(reset="subtract", bits=4, quantizer="tanh", surrogate="atan", dtype="float32"),
                 dict(reset="mod", bits=None, quantizer="uniform", surrogate="sigmoid", dtype="float64")):
        (s_k, g_k), (s_t, g_t) = _kernel_vs_torch(case, monkeypatch, shape=(3, 4, 2600), seed=35)
        assert torch.equal(s_k, s_t)
        assert s_k.sum() > 0
        assert_allclose(g_k.numpy(), g_t.numpy(), rtol=1e-5, atol=1e-6)


def test_kernel_accepts_non_contiguous_input_and_gradient(monkeypatch):
    """A transposed input and an expanded gradient give what their contiguous copies give."""
    base = torch.randn(347, 3, 5, generator=_gen(40)) * 1.2 + 0.6
    x = base.permute(2, 1, 0)  # [5, 3, 347], not contiguous
    g = torch.randn(5, 1, 347, generator=_gen(41)).expand(5, 3, 347)
    lif = LIF(membrane_bits=2)
    results = []
    for xi, gi in ((x, g), (x.contiguous(), g.contiguous())):
        xi = xi.detach().clone() if xi.is_contiguous() else xi.detach()
        xi.requires_grad_()
        s = lif(xi)
        s.backward(gi)
        results.append((s.detach(), xi.grad))
    assert torch.equal(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])


@pytest.mark.parametrize("kernels", [True, False])
def test_inference_saves_nothing_for_backward(kernels, monkeypatch):
    """Under no_grad / inference_mode the layer packs no tensor for a backward pass; with
    gradients on (train or eval mode) it does, and backward works."""
    import qsnn.nn.neurons as neurons

    monkeypatch.setattr(neurons, "USE_KERNELS", kernels)
    packed = []

    def pack(t):
        packed.append(t.shape)
        return t

    lif = LIF(membrane_bits=2)
    x = (torch.rand(4, 2, 30, generator=_gen(50)) * 2).requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        with torch.no_grad():
            lif(x)
        with torch.inference_mode():
            lif(x)
        assert packed == []
        lif.eval()
        s = lif(x)
    assert packed  # grad mode: something was saved, and backward runs
    s.sum().backward()
    assert x.grad is not None


def test_functional_lif_equals_module():
    """lif_multistep is the LIF module without the module."""
    x = torch.randn(4, 2, 10, generator=_gen(6))
    assert torch.equal(lif_multistep(x, 0.7, 0.8, "subtract", 4), LIF(0.8, 0.7, "subtract", 4)(x))


def test_lif_output_shape_and_values():
    """[T, B, C, H, W] in, same shape out; zero/subtract emit {0, 1}, mod non-negative integers."""
    x = torch.randn(3, 2, 4, 5, 5, generator=_gen(7)) * 3
    for reset in RESETS:
        s = LIF(reset=reset)(x)
        assert s.shape == x.shape
        assert torch.equal(s, torch.round(s)) and s.min() >= 0
        if reset != "mod":
            assert s.max() <= 1
    assert LIF(reset="mod")(x).max() > 1


def test_lif_state_does_not_persist_between_calls():
    """Two calls on the same input give the same spikes (state starts at 0 every call)."""
    lif = LIF(membrane_bits=4)
    x = torch.rand(5, 2, 8, generator=_gen(8)) * 2
    assert torch.equal(lif(x), lif(x))


def test_hard_reset_lif_golden_sequence():
    """decay 0.5, V_th 1, input 0.6 every step: H = 0.6, 0.9, 1.05 (fire), 0.6, 0.9, 1.05 ..."""
    s = LIF()(torch.full((6, 1), 0.6, dtype=torch.float64))
    assert_array_equal(s[:, 0].numpy(), [0, 0, 1, 0, 0, 1])


def test_two_bit_membrane_changes_the_dynamics_as_the_grid_says():
    """b = 2, s = V_th = 1: H = 0.6 -> U = Q(0.6) = 1 -> H = 1.1 fires at step 2, not 3."""
    s = LIF(membrane_bits=2)(torch.full((4, 1), 0.6))
    assert_array_equal(s[:, 0].numpy(), [0, 1, 0, 1])


def test_lif_all_zero_input_gives_no_nan():
    """An all-zero input gives zero spikes and finite gradients for every reset and quantizer."""
    for reset in RESETS:
        for kw in (dict(), dict(membrane_bits=2), dict(membrane_bits=4, membrane_quantizer="tanh")):
            x = torch.zeros(4, 2, 6, requires_grad=True)
            s = LIF(reset=reset, **kw)(x)
            s.sum().backward()
            assert torch.equal(s, torch.zeros_like(s))
            assert torch.isfinite(x.grad).all()


def test_calibrated_scale_follows_the_state_in_training_and_freezes_in_eval():
    """membrane_scale='calibrated' moves running_scale towards max |U| in train mode only."""
    lif = LIF(membrane_bits=4, membrane_scale="calibrated")
    assert float(lif.running_scale) == 1.0
    x = -torch.full((2, 1, 3), 5.0)  # never fires: U = -5, then -7.5
    lif.train()(x)
    after = float(lif.running_scale)
    assert after == pytest.approx(0.9 * 1.0 + 0.1 * 5.5)  # U = -5, then 0.5 * Q(-5) - 5 = -5.5
    lif.eval()(x)
    assert float(lif.running_scale) == after
    assert "running_scale" in lif.state_dict()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(threshold=0.0), "threshold must be a finite number > 0"),
        (dict(threshold=-1.0), "threshold must be a finite number > 0"),
        (dict(threshold=float("nan")), "threshold must be a finite number > 0"),
        (dict(decay=-0.1), r"decay must be a number in \[0, 1\]"),
        (dict(decay=1.5), r"decay must be a number in \[0, 1\]"),
        (dict(reset="soft"), r"reset must be one of \('zero', 'subtract', 'mod'\)"),
        (dict(membrane_bits=1), "membrane_bits must be an integer >= 2"),
        (dict(membrane_bits=4.0), "membrane_bits must be an integer >= 2"),
        (dict(membrane_quantizer="log"), "membrane_quantizer must be one of"),
        (dict(membrane_scale=0.0), "membrane_scale must be None, 'calibrated'"),
        (dict(membrane_scale="max"), "membrane_scale must be None, 'calibrated'"),
        (dict(surrogate="erf"), "surrogate must be one of"),
        (dict(calibration_momentum=0.0), "calibration_momentum"),
    ],
)
def test_lif_rejects_bad_options(kwargs, match):
    """Every bad LIF option raises ValueError naming the option and what is allowed."""
    with pytest.raises(ValueError, match=match):
        LIF(**kwargs)


@pytest.mark.parametrize("x", [torch.zeros(5), torch.zeros(3, 4, dtype=torch.int64), [[0.0]]])
def test_lif_rejects_bad_input(x):
    """The input must be a floating-point tensor [T, B, ...]."""
    with pytest.raises(ValueError, match=r"\[T, B, \.\.\.\]"):
        LIF()(x)


def test_functional_lif_rejects_bad_scale():
    """lif_multistep rejects a non-positive membrane_scale."""
    with pytest.raises(ValueError, match="membrane_scale"):
        lif_multistep(torch.zeros(2, 1), membrane_bits=4, membrane_scale=-1.0)


# ----------------------------------------------------------------------------------------------
# LIF against Part I's event-driven quantizer


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("alpha", [0.0, math.log(2), 1.5])
def test_lif_agrees_with_part_one_on_non_negative_unit_spaced_inputs(reset, alpha):
    """With decay = exp(-alpha), unit-spaced positive inputs: spikes = Part I's amplitudes / theta.

    Part I is two-sided (negative potentials fire negative spikes), so only non-negative
    inputs compare; its firing test is |u| >= theta against H > V_th here (equality has measure 0).
    """
    theta = 0.8
    rng = np.random.default_rng(9)
    amps = rng.uniform(0.01, 1.6 * theta, size=(40, 12))
    times = np.broadcast_to(np.arange(12.0), amps.shape)
    part1 = qsnn.lif_batch(times, amps, threshold=theta, alpha=alpha, reset=reset) / theta
    x = torch.from_numpy(amps.T.copy()).unsqueeze(-1)  # [T, B, 1]
    s = LIF(threshold=theta, decay=math.exp(-alpha), reset=reset)(x)
    assert_allclose(s[..., 0].numpy().T, part1, atol=1e-12)


def test_lif_single_train_matches_part_one_lif():
    """One train through qsnn.lif (SpikeTrain API) equals the layer's spikes times theta."""
    amps = [0.8, 0.9, 2.4, 0.5, 0.6]
    out = qsnn.lif(qsnn.SpikeTrain(np.arange(5.0), amps), threshold=1.0, alpha=math.log(2), reset="mod")
    dense = np.zeros(5)
    dense[out.times.astype(int)] = out.amplitudes
    s = LIF(threshold=1.0, decay=0.5, reset="mod")(torch.tensor(amps, dtype=torch.float64).view(5, 1))
    assert_allclose(s[:, 0].numpy(), dense)
    assert_allclose(dense, [0, 1, 2, 0, 0])  # golden row worked by hand (alpha = ln 2, mod)


# ----------------------------------------------------------------------------------------------
# surrogates


def test_triangle_surrogate_formula():
    """triangle: max(0, 1 - |x|)."""
    x = torch.tensor([-2.0, -0.5, 0.0, 0.25, 1.0, 3.0])
    assert_allclose(surrogate_grad(x, "triangle").numpy(), [0, 0.5, 1, 0.75, 0, 0])


@pytest.mark.parametrize("name, peak", [("sigmoid", 1.0), ("atan", 1.0), ("triangle", 1.0)])
def test_surrogates_peak_at_threshold_and_are_symmetric(name, peak):
    """Every surrogate peaks at H = V_th and is even in H - V_th."""
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)
    g = surrogate_grad(x, name)
    assert g.argmax().item() == 300 and g.max().item() == pytest.approx(peak)
    assert_allclose(g.numpy(), g.flip(0).numpy(), atol=1e-15)


def test_unknown_surrogate_is_rejected():
    """surrogate_grad names the allowed surrogates."""
    with pytest.raises(ValueError, match="triangle"):
        surrogate_grad(torch.zeros(1), "erf")
    assert SURROGATES == ("triangle", "sigmoid", "atan")


# ----------------------------------------------------------------------------------------------
# spike-rate loss and entropy


def test_spike_rate_loss_golden_values():
    """rates 0.1, 0.3, 0.6, 0.9: L_SR = ((0.3-0.5)^2 + (0.6-0.5)^2) / 2 = 0.025 (ends excluded)."""
    rates = [torch.tensor(r, dtype=torch.float64) for r in (0.1, 0.3, 0.6, 0.9)]
    assert spike_rate_loss(rates).item() == pytest.approx(0.025)
    assert spike_rate_loss(rates, exclude_first_last=False).item() == pytest.approx(
        (0.16 + 0.04 + 0.01 + 0.16) / 4)
    assert spike_rate_loss(rates, target=0.3).item() == pytest.approx((0 + 0.09) / 2)


def test_spike_rate_loss_without_middle_layers_is_zero():
    """Two layers or fewer leave nothing after excluding first and last: L_SR = 0."""
    assert spike_rate_loss([torch.tensor(0.1), torch.tensor(0.9)]).item() == 0.0
    assert spike_rate_loss([]).item() == 0.0


def test_spike_rate_loss_gradient_pulls_rates_to_target():
    """dL/dr_l = 2 (r_l - 0.5) / L for every regulated layer, 0 for the ends."""
    rates = [torch.tensor(r, requires_grad=True) for r in (0.2, 0.1, 0.8, 0.4)]
    spike_rate_loss(rates).backward()
    grads = [0.0 if r.grad is None else r.grad.item() for r in rates]
    assert_allclose(grads, [0, -0.4, 0.3, 0], atol=1e-7)


@pytest.mark.parametrize("bad", [dict(target=1.5), dict(target=-0.1), dict(target=float("nan"))])
def test_spike_rate_loss_rejects_bad_target(bad):
    """A target outside [0, 1] raises ValueError."""
    with pytest.raises(ValueError, match="target"):
        spike_rate_loss([torch.tensor(0.5)] * 3, **bad)


def test_spike_rate_loss_rejects_non_scalar_rates():
    """Every rate must be a scalar tensor."""
    with pytest.raises(ValueError, match=r"rates\[1\]"):
        spike_rate_loss([torch.tensor(0.5), torch.ones(2), torch.tensor(0.5)])


def test_binary_entropy_values():
    """H(1/2) = 1 bit, H(0) = H(1) = 0, H(1/4) = 0.8113 bits; arrays and tensors alike."""
    assert binary_entropy(0.5) == pytest.approx(1.0)
    assert binary_entropy(0.0) == 0.0 and binary_entropy(1.0) == 0.0
    assert binary_entropy(0.25) == pytest.approx(0.811278124459, rel=1e-9)
    assert_allclose(binary_entropy(np.array([0.25, 0.75])), [0.811278124459] * 2)
    assert_allclose(binary_entropy(torch.tensor([0.0, 0.5])).numpy(), [0.0, 1.0])


@PROPS
@given(st.floats(0.0, 1.0))
def test_binary_entropy_symmetric_and_maximal_at_half(p):
    """H(p) = H(1 - p) <= H(1/2) = 1."""
    assert binary_entropy(p) == pytest.approx(binary_entropy(1 - p), abs=1e-12)
    assert binary_entropy(p) <= 1.0 + 1e-12


@PROPS
@given(st.floats(0.3, 0.7))
def test_quadratic_rate_loss_approximates_entropy_deficit(r):
    """ln 2 - H_nats(r) = 2 (r - 1/2)^2 + O((r - 1/2)^4): the quadratic approximation (Taylor series at 1/2)."""
    deficit = math.log(2) - binary_entropy(r) * math.log(2)
    assert deficit == pytest.approx(2 * (r - 0.5) ** 2, abs=2 * (r - 0.5) ** 4 + 1e-12)


@pytest.mark.parametrize("p", [-0.1, 1.01, float("nan")])
def test_binary_entropy_rejects_outside_unit_interval(p):
    """p outside [0, 1] raises ValueError."""
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        binary_entropy(p)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        binary_entropy(torch.tensor([0.5, p]))


def test_sign_balance_counts_plus_ones_per_filter():
    """sign_balance gives the fraction of non-negative entries of every filter."""
    w = torch.tensor([[1.0, -1.0, 1.0, 1.0], [-1.0, -1.0, -1.0, 1.0]])
    assert_allclose(sign_balance(w).numpy(), [0.75, 0.25])
    with pytest.raises(ValueError, match="weight"):
        sign_balance(torch.tensor(1.0))
