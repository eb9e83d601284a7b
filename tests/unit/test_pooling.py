"""qsnn.nn.pooling: the CPU kernels of average pooling equal torch's pooling bit for bit, forward and
backward, and every case the kernels do not cover runs torch's own forward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from qsnn.nn import neurons
from qsnn.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, _WindowMean, window_mean

# (input shape, kernel / output size): square and rectangular windows, remainders that floor mode
# drops (9 x 11 by 2), 3-D inputs, one window per plane, a window of one value
AVG_CASES = [((4, 3, 9, 11), 2), ((2, 5, 7, 7), 3), ((3, 4, 4), 1), ((2, 3, 6, 10), (2, 5)), ((1, 1, 2, 2), 2),
             ((2, 2, 28, 28), 2)]
ADAPTIVE_CASES = [((4, 3, 14, 14), 2), ((2, 5, 12, 8), (3, 2)), ((3, 6, 6), 3), ((2, 2, 5, 5), 5),
                  ((2, 3, 4, 6), (None, 3))]


def _values(shape, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=dtype) * 10
    x.view(-1)[::7] = -0.0  # signed zeros: the sums start from +0 as torch's do
    x.view(-1)[::5] = torch.randint(0, 2, x.view(-1)[::5].shape, generator=g).to(dtype)  # spikes
    return x


def _both(ours: nn.Module, ref: nn.Module, x: torch.Tensor):
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(a), ref(b)
    g = torch.randn(yb.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    ya.backward(g)
    yb.backward(g)
    return ya, yb, a.grad, b.grad


def _identical(u: torch.Tensor, v: torch.Tensor) -> bool:
    return u.shape == v.shape and torch.equal(u, v) and torch.equal(u.signbit(), v.signbit())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape,k", AVG_CASES)
def test_avg_pool_equals_torch_bit_for_bit(shape, k, dtype):
    ya, yb, ga, gb = _both(AvgPool2d(k), nn.AvgPool2d(k), _values(shape, dtype))
    assert ya.grad_fn.name() == "_WindowMeanBackward"  # the kernels ran
    assert _identical(ya, yb) and _identical(ga, gb)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape,size", ADAPTIVE_CASES)
def test_adaptive_avg_pool_equals_torch_bit_for_bit(shape, size, dtype):
    ya, yb, ga, gb = _both(AdaptiveAvgPool2d(size), nn.AdaptiveAvgPool2d(size), _values(shape, dtype))
    assert ya.grad_fn.name() == "_WindowMeanBackward"
    assert _identical(ya, yb) and _identical(ga, gb)


def test_adaptive_rounds_as_torch_does_not_as_avg_pool():
    # torch divides an adaptive window's sum by kh and then kw, a fixed window's by kh * kw: 7 x 7
    # windows of these values round differently, and each module matches its own torch counterpart
    x = _values((8, 4, 14, 14), torch.float32)
    adaptive, fixed = AdaptiveAvgPool2d(2)(x), AvgPool2d(7)(x)
    assert not torch.equal(adaptive, fixed)
    assert torch.equal(adaptive, nn.AdaptiveAvgPool2d(2)(x)) and torch.equal(fixed, nn.AvgPool2d(7)(x))


@pytest.mark.parametrize("module", [
    AvgPool2d(2, stride=1), AvgPool2d(3, stride=2, padding=1), AvgPool2d(2, ceil_mode=True),
    AvgPool2d(2, divisor_override=3), AdaptiveAvgPool2d(3), AdaptiveAvgPool2d(1),
])
def test_other_cases_run_torch(module):
    x = _values((2, 3, 8, 7), torch.float32).requires_grad_(True)
    y = module(x)
    assert y.grad_fn.name() != "_WindowMeanBackward"
    assert torch.equal(y, getattr(nn, type(module).__name__).forward(module, x))


def test_other_inputs_run_torch(monkeypatch):
    x = _values((2, 3, 8, 8), torch.float32)
    for z in (x.to(torch.bfloat16), x.to(memory_format=torch.channels_last), x[:, :, :, ::2]):
        y = AvgPool2d(2)(z.requires_grad_(True))
        assert y.grad_fn.name() != "_WindowMeanBackward"
        assert torch.equal(y, nn.AvgPool2d(2)(z))
    monkeypatch.setattr(neurons, "USE_KERNELS", False)
    assert AvgPool2d(2)(x.requires_grad_(True)).grad_fn.name() != "_WindowMeanBackward"


def test_a_non_contiguous_gradient_and_no_grad():
    x = _values((3, 4, 6, 6), torch.float64).requires_grad_(True)
    y = AvgPool2d(2)(x)
    y.backward(torch.ones(1, 1, 1, 1, dtype=torch.float64).expand_as(y))  # stride 0: copied before the kernel
    assert torch.equal(x.grad, torch.full_like(x, 0.25))
    with torch.no_grad():
        y = AvgPool2d(2)(x)
    assert y.grad_fn is None and torch.equal(y, nn.AvgPool2d(2)(x.detach()))


def test_gradcheck():
    x = torch.randn(2, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: _WindowMean.apply(v, 2, 3, False), (x,))
    assert torch.autograd.gradcheck(lambda v: _WindowMean.apply(v, 5, 3, True), (x,))


def test_extremes_and_empty():
    big = torch.full((1, 1, 2, 2), 1e300, dtype=torch.float64)
    assert torch.equal(AvgPool2d(2)(big), nn.AvgPool2d(2)(big))  # inf as torch: the sum overflows
    tiny = torch.full((1, 1, 2, 2), 1e-300, dtype=torch.float64)
    assert AvgPool2d(2)(tiny).item() == 1e-300
    nan = torch.tensor([[[[1.0, float("nan")], [0.0, 0.0]]]])
    assert torch.isnan(AvgPool2d(2)(nan)).all()
    empty = torch.zeros(0, 3, 4, 4)
    assert AvgPool2d(2)(empty).shape == (0, 3, 2, 2)


def test_window_mean_rejects_what_it_cannot_pool():
    with pytest.raises(ValueError, match="contiguous float32/float64 CPU tensor"):
        window_mean(torch.zeros(2, 3, 4, 4, dtype=torch.int64), 2, 2)
    with pytest.raises(ValueError, match="not contiguous"):
        window_mean(torch.zeros(2, 3, 4, 8)[..., ::2], 2, 2)
    with pytest.raises(ValueError, match="must fit"):
        window_mean(torch.zeros(2, 3, 4, 4), 5, 2)
    assert torch.equal(window_mean(torch.ones(1, 4, 4), 2, 2), torch.ones(1, 2, 2))


def test_models_use_the_kernels():
    from qsnn import models

    net = models.build("small", 10, 1, membrane_bits=2, widths=(4, 4, 4))
    pools = [m for m in net.modules() if isinstance(m, (nn.AvgPool2d, nn.AdaptiveAvgPool2d))]
    assert pools and all(isinstance(m, (AvgPool2d, AdaptiveAvgPool2d)) for m in pools)
