"""BatchNorm fused into the LIF kernels (qsnn.nn.fused) computes lif(bn(y)): spikes, every gradient and the
running statistics, against the two modules one after the other."""

from __future__ import annotations

import pytest
import torch
from numpy.testing import assert_allclose

import qsnn.nn.fused as fused
from qsnn.models import ConvBNLIF, build
from qsnn.nn import LIF


def _pair(dtype, seed=5, momentum=0.1):
    torch.manual_seed(seed)
    bn = torch.nn.BatchNorm2d(5, momentum=momentum).to(dtype)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.3, 0.3)
    return bn


def _run(y0, g, bn, lif, steps, fuse):
    """(spikes, dL/dy, dL/dgamma, dL/dbeta, running mean, running var, batches) of lif(bn(y))."""
    y = y0.clone().requires_grad_()
    if fuse:
        assert fused.can_fuse(bn, lif, y)
        s = fused.batchnorm_lif(y, bn, lif, steps)
    else:
        z = bn(y)
        s = lif(z.view(steps, -1, *z.shape[1:]))
    (s * g).sum().backward()
    return (s.detach(), y.grad, bn.weight.grad, bn.bias.grad, bn.running_mean.clone(), bn.running_var.clone(),
            int(bn.num_batches_tracked))


# every reset, membrane width, surrogate and detach_reset at least once (each is a compiled kernel)
CASES = [
    dict(reset="zero", bits=None, surrogate="triangle", detach_reset=False),
    dict(reset="zero", bits=2, surrogate="atan", detach_reset=True),
    dict(reset="subtract", bits=8, surrogate="sigmoid", detach_reset=False),
    dict(reset="subtract", bits=2, surrogate="triangle", detach_reset=False),
    dict(reset="mod", bits=None, surrogate="sigmoid", detach_reset=False),
    dict(reset="mod", bits=8, surrogate="triangle", detach_reset=False),
    dict(reset="zero", bits=2, surrogate="triangle", detach_reset=False, quantizer="tanh"),
    dict(reset="subtract", bits=8, surrogate="atan", detach_reset=False, quantizer="tanh"),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_fused_equals_batchnorm_then_lif(case, dtype):
    """Same spikes; gradients of y, gamma and beta and the running statistics equal to rounding. 23 x 29
    pixels: a plane is one full and one partial block of the kernels."""
    steps, batch = 3, 4
    gen = torch.Generator().manual_seed(11)
    y0 = (torch.randn(steps * batch, 5, 23, 29, generator=gen, dtype=torch.float64) * 1.3 + 0.4).to(dtype)
    g = torch.randn(steps, batch, 5, 23, 29, generator=gen, dtype=torch.float64).to(dtype)
    thr = 0.8 if case["reset"] == "mod" else 1.0
    runs = []
    for fuse in (True, False):
        lif = LIF(threshold=thr, reset=case["reset"], membrane_bits=case["bits"], surrogate=case["surrogate"],
                  detach_reset=case["detach_reset"], membrane_quantizer=case.get("quantizer", "uniform"))
        runs.append(_run(y0, g, _pair(dtype), lif, steps, fuse))
    (s1, dy1, dw1, db1, rm1, rv1, n1), (s2, dy2, dw2, db2, rm2, rv2, n2) = runs
    assert s1.sum() > 0 and (s1 == 0).any()
    assert torch.equal(s1, s2)
    # float32: both sides sum 40,020 products per channel in float32 (torch) or float32 blocks of 512
    # (the kernels), so they agree to about 1e-5 of the largest value
    tol = dict(rtol=1e-9, atol=1e-11) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-4)
    for a, b in ((dy1, dy2), (dw1, dw2), (db1, db2)):
        scale = b.abs().max().item()
        assert_allclose(a.numpy() / scale, b.numpy() / scale, **tol)
    assert_allclose(rm1.numpy(), rm2.numpy(), rtol=1e-6, atol=1e-7)
    assert_allclose(rv1.numpy(), rv2.numpy(), rtol=1e-6, atol=1e-7)
    assert n1 == n2 == 1


@pytest.mark.parametrize("momentum", [0.1, None])
def test_running_statistics_follow_batchnorm_over_several_batches(momentum):
    """Momentum and the cumulative average (momentum=None), the unbiased variance, the batch counter."""
    gen = torch.Generator().manual_seed(3)
    bns = [_pair(torch.float32, momentum=momentum) for _ in range(2)]
    lif = LIF(membrane_bits=4)
    for _ in range(3):
        y = torch.randn(8, 5, 6, 7, generator=gen) * 2 + 1
        with torch.no_grad():
            fused.batchnorm_lif(y, bns[0], lif, 2)
            bns[1](y)
    assert_allclose(bns[0].running_mean.numpy(), bns[1].running_mean.numpy(), rtol=1e-6, atol=1e-7)
    assert_allclose(bns[0].running_var.numpy(), bns[1].running_var.numpy(), rtol=1e-6, atol=1e-7)
    assert int(bns[0].num_batches_tracked) == int(bns[1].num_batches_tracked) == 3


def test_what_is_not_fused():
    """Eval mode, a calibrated scale, a float16 or one-value-per-channel input, a BatchNorm without affine
    parameters or running statistics, and FUSE_BATCHNORM = False run unfused."""
    y = torch.randn(4, 5, 3, 3)
    bn = torch.nn.BatchNorm2d(5)
    assert fused.can_fuse(bn, LIF(membrane_bits=2), y)
    assert fused.can_fuse(bn, LIF(), y)
    assert fused.can_fuse(bn, LIF(membrane_bits=2, membrane_quantizer="tanh"), y)
    assert not fused.can_fuse(bn, LIF(membrane_bits=2, membrane_scale="calibrated"), y)
    assert not fused.can_fuse(bn, LIF(), y.half())
    assert not fused.can_fuse(bn, LIF(), y[:1, :, :1, :1])
    assert not fused.can_fuse(torch.nn.BatchNorm2d(5, affine=False), LIF(), y)
    assert not fused.can_fuse(torch.nn.BatchNorm2d(5, track_running_stats=False), LIF(), y)
    assert not fused.can_fuse(bn.eval(), LIF(), y)
    bn.train()
    try:
        fused.FUSE_BATCHNORM = False
        assert not fused.can_fuse(bn, LIF(), y)
    finally:
        fused.FUSE_BATCHNORM = True


def test_inference_saves_nothing_for_backward():
    """Under no_grad the fused path packs no tensor (training-mode statistics still update)."""
    packed = []

    def pack(t):
        packed.append(t.shape)
        return t

    bn, lif = torch.nn.BatchNorm2d(5), LIF(membrane_bits=2)
    y = torch.randn(6, 5, 4, 4, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        with torch.no_grad():
            fused.batchnorm_lif(y, bn, lif, 2)
        assert packed == []
        s = fused.batchnorm_lif(y, bn, lif, 2)
    assert packed
    s.sum().backward()
    assert y.grad is not None and int(bn.num_batches_tracked) == 2


def test_a_training_step_of_a_model_is_the_same_fused_or_not(monkeypatch):
    """A float64 Q-SNN's loss and every parameter gradient, with ConvBNLIF fused and unfused; eval mode
    never fuses."""
    x = torch.rand(2, 3, 1, 12, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    results = []
    for fuse in (True, False):
        monkeypatch.setattr(fused, "FUSE_BATCHNORM", fuse)
        torch.manual_seed(0)
        net = build("small", 10, 1, membrane_bits=2, widths=(4, 8, 8)).double().train()
        calls = []
        monkeypatch.setattr(fused, "batchnorm_lif", lambda *a, _f=fused.batchnorm_lif: calls.append(1) or _f(*a))
        monkeypatch.setattr("qsnn.models.batchnorm_lif", fused.batchnorm_lif)
        loss = net(x).square().mean()
        loss.backward()
        assert len(calls) == (3 if fuse else 0)
        results.append((loss.item(), {n: p.grad.clone() for n, p in net.named_parameters()}))
        net.eval()
        with torch.no_grad():
            net(x)
        assert len(calls) == (3 if fuse else 0)
    (l1, g1), (l2, g2) = results
    assert l1 == pytest.approx(l2, rel=1e-12)
    for name in g1:
        assert_allclose(g1[name].numpy(), g2[name].numpy(), rtol=1e-8, atol=1e-12, err_msg=name)
    assert any(isinstance(m, ConvBNLIF) for m in net.modules())


@pytest.mark.parametrize("offset", [0.0, 1e4, -3e7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_statistics_in_one_read_match_the_two_pass_definition(offset, dtype):
    # a large common offset is where a one-pass sum of squares cancels; the per-row centring must not
    from qsnn.nn._lif_kernels import bn_stats

    g = torch.Generator().manual_seed(3)
    y = (torch.randn(3, 4 * 6, 37, generator=g, dtype=torch.float64) * 0.5
         + torch.arange(6, dtype=torch.float64).repeat(4)[None, :, None] + offset).to(dtype)
    mean, var = bn_stats(y.numpy(), 6)
    by_channel = y.double().view(3, 4, 6, 37).permute(2, 0, 1, 3).reshape(6, -1)
    ref_var, ref_mean = torch.var_mean(by_channel, dim=1, unbiased=False)
    assert_allclose(mean, ref_mean.numpy(), rtol=1e-15, atol=1e-12 * (1 + abs(offset)))
    # a centred two-pass variance is good to about eps * offset / std; a one-pass sum of squares would be
    # off by eps * (offset / std)^2, i.e. wholly wrong at 3e7
    assert_allclose(var, ref_var.numpy(), rtol=1e-13 * (1 + abs(offset) / 0.5))


def test_batch_statistics_do_not_depend_on_the_thread_count():
    import numba

    from qsnn.nn._lif_kernels import bn_stats

    y = torch.randn(4, 64, 49, generator=torch.Generator().manual_seed(4)).numpy()
    before = numba.get_num_threads()
    try:
        results = []
        for n in (1, before):
            numba.set_num_threads(n)
            results.append(bn_stats(y, 16))
    finally:
        numba.set_num_threads(before)
    assert all((a == b).all() for a, b in zip(results[0], results[1]))


def test_batch_statistics_of_extreme_values():
    from qsnn.nn._lif_kernels import bn_stats

    for v in (1e-300, 1e300):
        y = torch.full((2, 3, 4), v, dtype=torch.float64)
        y[0, :, 0] = 0.0
        mean, var = bn_stats(y.numpy(), 3)
        ref_var, ref_mean = torch.var_mean(y.permute(1, 0, 2).reshape(3, -1) / v, dim=1, unbiased=False)
        assert_allclose(mean / v, ref_mean.numpy(), rtol=1e-14)
        if v < 1:
            assert_allclose(var / v / v if var.any() else var, ref_var.numpy() * (v * v > 0), rtol=1e-12)
        else:  # the squares overflow as torch's own var does
            assert torch.isinf(torch.from_numpy(var)).all() == torch.isinf(torch.var(y[:, 0], unbiased=False))
