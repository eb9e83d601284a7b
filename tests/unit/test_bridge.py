"""Tests of qsnn.bridge: the Q-SNN layer as Part I's quantizer (agreement and the documented differences),
the reset-to-mod bound with a b-bit stored membrane (golden values, sympy derivation, property tests at the
layer level, tightness, counterexamples outside its assumptions) and the per-neuron quantization errors of
trained networks (against the plain definition, extremes, a committed run)."""

import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from qsnn import bridge
from qsnn.bridge import (
    adversarial_currents,
    error_norms,
    error_statistics_text,
    error_summary,
    layer_currents,
    layer_parameters,
    layer_spikes,
    membrane_bound,
    membrane_bound_derivation,
    network_error_statistics,
    network_quantization_errors,
    nonnegative_neurons,
    part1_parameters,
    quantization_errors,
    rounding_step,
    run_both,
    spike_costs,
    tightness_search,
)
from qsnn.nn import LIF

ABLATION = Path(__file__).resolve().parents[2] / "book" / "experiments" / "05_ablation"
# float64 slack of the layer's floor and rounding against the exact-arithmetic bound
REL = 1e-9


# -- plain references --------------------------------------------------------------------------------


def reference_layer(currents, decay, theta, reset, bits=None, scale=None):
    """The Q-SNN layer written out step by step in Python floats (round half to even, as torch)."""
    x = np.asarray(currents, dtype=np.float64)
    n = 0 if bits is None else 2 ** (bits - 1) - 1
    s_ = theta if scale is None else scale
    out = np.zeros_like(x)
    for j in range(x.shape[1]):
        u = 0.0
        for t in range(x.shape[0]):
            h = decay * u + x[t, j]
            if reset == "mod":
                s = max(math.floor(h / theta), 0)
                u = h - theta * s
            else:
                s = 1 if h > theta else 0
                u = (0.0 if s else h) if reset == "zero" else h - theta * s
            if n:
                u = round(min(max(u / s_, -1.0), 1.0) * n) * (s_ / n)
            out[t, j] = s
    return out


def reference_norm(amplitudes, decay):
    """The O(T^2) definition max_k |sum_{i<=k} a_i decay^(k - i)| at unit steps, per column."""
    a = np.asarray(amplitudes, dtype=np.float64)
    out = np.zeros(a.shape[1])
    for j in range(a.shape[1]):
        for k in range(a.shape[0]):
            out[j] = max(out[j], abs(sum(a[i, j] * decay ** (k - i) for i in range(k + 1))))
    return out


def layer_error(currents, decay, theta, bits, scale=None):
    """||theta S - I|| of qsnn.nn.LIF(reset="mod") on currents [T, N] (float64), not divided by theta."""
    x = torch.as_tensor(np.asarray(currents, dtype=np.float64))
    if x.ndim == 1:
        x = x[:, None]
    lif = LIF(threshold=theta, decay=decay, reset="mod", membrane_bits=bits, membrane_scale=scale)
    with torch.no_grad():
        s = lif(x).numpy()
    return theta * error_norms(x.numpy(), s, decay, theta)


# -- parameters --------------------------------------------------------------------------------------


def test_part1_parameters_golden():
    """decay 0.5 is alpha = ln 2; decay 1 is alpha 0; decay 0 is alpha inf; theta is V_th."""
    assert part1_parameters(0.5, 0.8) == (math.log(2), 0.8)
    assert part1_parameters(1.0, 1.0) == (0.0, 1.0)
    assert part1_parameters(0.0, 2.0) == (math.inf, 2.0)


@pytest.mark.parametrize("decay", [0.0, 1e-9, 0.25, 0.5, 0.9, 1.0])
def test_parameters_round_trip(decay):
    """layer_parameters inverts part1_parameters."""
    d, th = layer_parameters(*part1_parameters(decay, 1.5))
    assert d == pytest.approx(decay, rel=1e-15, abs=0)
    assert th == 1.5


@pytest.mark.parametrize("decay, threshold", [(1.5, 1.0), (-0.1, 1.0), (math.nan, 1.0), (0.5, 0.0), (0.5, -1.0)])
def test_part1_parameters_reject_bad_values(decay, threshold):
    """Decay outside [0, 1] and non-positive thresholds are refused."""
    with pytest.raises(ValueError, match="decay|threshold"):
        part1_parameters(decay, threshold)


def test_layer_parameters_reject_negative_alpha():
    """A negative leak rate is refused."""
    with pytest.raises(ValueError, match="alpha"):
        layer_parameters(-1.0, 1.0)


# -- the layer as Part I's quantizer -------------------------------------------------------------------


@pytest.mark.parametrize("decay", [0.0, 0.3, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("theta", [0.7, 1.0])
def test_mod_layer_equals_part_one_on_non_negative_currents(decay, theta):
    """Reset-to-mod, currents >= 0 (zeros included) at unit steps: theta S equals Part I's output, exactly."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 3.0 * theta, size=(20, 300))
    x[rng.random(x.shape) < 0.2] = 0.0
    both = run_both(x, decay, theta, "mod")
    assert both.agree.all()
    assert_array_equal(both.layer, both.part1)
    assert both.layer.max() >= 2 * theta  # multiples of theta occur


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("decay", [0.0, 0.5, 1.0])
def test_single_spike_resets_equal_part_one_on_positive_currents(reset, decay):
    """Zero and subtract agree too on strictly positive currents without ties."""
    rng = np.random.default_rng(4)
    x = rng.uniform(0.01, 1.5, size=(15, 200))
    assert run_both(x, decay, 1.0, reset).agree.all()


@settings(max_examples=150, deadline=None)
@given(currents=st.lists(st.floats(0.0, 4.0), min_size=1, max_size=25),
       decay=st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.0]), theta=st.sampled_from([0.5, 1.0, 1.7]))
def test_mod_layer_equals_part_one_up_to_the_first_tie(currents, decay, theta):
    """Property: on non-negative currents the two agree at every step before the first near-tie H ~ k theta."""
    x = np.asarray(currents)[:, None]
    both = run_both(x, decay, theta, "mod")
    h, u, first_tie = 0.0, 0.0, len(currents)
    for t, i in enumerate(currents):  # the layer's H, to find near ties with a multiple of theta
        h = decay * u + i
        q = h / theta
        if q >= 0.5 and abs(q - round(q)) < 1e-7:
            first_tie = t
            break
        u = h - theta * math.floor(q)
    assert_array_equal(both.layer[:first_tie], both.part1[:first_tie])


def test_negative_currents_fire_only_in_part_one():
    """One-sided firing: -1.5 theta fires -theta in Part I (mod), nothing in the layer."""
    both = run_both([-1.5], 0.5, 1.0, "mod")
    assert both.part1[0, 0] == -1.0
    assert both.layer[0, 0] == 0.0


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_equality_fires_only_in_part_one(reset):
    """Firing rule at equality: H = V_th fires in Part I (|u| >= theta), not in the layer (H > V_th)."""
    both = run_both([1.0], 1.0, 1.0, reset)
    assert both.part1[0, 0] == 1.0
    assert both.layer[0, 0] == 0.0


def test_mod_tolerance_fires_only_in_part_one():
    """0.1 added ten times is one ulp below 1: Part I's tolerance fires, the layer's floor does not."""
    both = run_both([0.1] * 10, 1.0, 1.0, "mod")
    assert_array_equal(both.part1[:, 0], [0] * 9 + [1])
    assert_array_equal(both.layer[:, 0], [0] * 10)


def test_zero_current_is_no_event_in_part_one():
    """After reset-by-subtraction the layer fires again on a zero current; Part I checks only at events."""
    both = run_both([2.5, 0.0], 1.0, 1.0, "subtract")
    assert_array_equal(both.layer[:, 0], [1, 1])
    assert_array_equal(both.part1[:, 0], [1, 0])


def test_run_both_rejects_bad_currents():
    """Currents must be finite [T] or [T, N]."""
    with pytest.raises(ValueError, match="currents"):
        run_both(np.zeros((2, 2, 2)), 0.5)
    with pytest.raises(ValueError, match="finite"):
        run_both([1.0, math.inf], 0.5)


# -- the bound: golden values ------------------------------------------------------------------------------


@pytest.mark.parametrize("args, expected", [
    ((2, 0.5, 1.0, 1.0), 1.5),                 # delta = 1/2, decay / (1 - decay) = 1
    ((8, 0.5, 1.0, 1.0), 1.0 + 1.0 / 254),     # n = 127
    ((4, 0.9, 1.0, 1.0), 1.0 + 9.0 / 14),      # n = 7, 0.9 / 0.1 = 9
    ((4, 0.5, 2.0, 3.0), 2.0 + 3.0 / 14),
    ((2, 0.5, 1.0, 3.0), 2.0),                 # s / 2 = 1.5 > theta: delta = theta
    ((None, 0.5, 0.7, None), 0.7),             # full precision: Theorem 1
    ((4, 0.0, 1.0, None), 1.0),                # no memory: no rounding is carried
    ((4, 1.0, 1.0, None), math.inf),
])
def test_membrane_bound_golden(args, expected):
    """Hand-computed values of theta + delta decay / (1 - decay)."""
    assert membrane_bound(*args) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("steps, expected", [(1, 1.0), (2, 1.25), (3, 1.375), (4, 1.4375)])
def test_membrane_bound_finite_length_golden(steps, expected):
    """b = 2, decay 1/2, s = theta = 1: 1 + (1/2)(1/2 + ... + 1/2^(T-1))."""
    assert membrane_bound(2, 0.5, 1.0, 1.0, steps=steps) == pytest.approx(expected, rel=1e-15)


def test_membrane_bound_without_leak_grows_linearly():
    """decay = 1: theta + delta (T - 1)."""
    assert membrane_bound(3, 1.0, 1.0, 1.0, steps=11) == pytest.approx(1.0 + 10 / 6)


def test_rounding_step_golden():
    """delta = min(s / (2n), theta)."""
    assert rounding_step(2, 1.0) == 0.5
    assert rounding_step(8, 1.0, 2.0) == pytest.approx(1.0 / 127)
    assert rounding_step(2, 1.0, 5.0) == 1.0


@pytest.mark.parametrize("kwargs", [dict(bits=1), dict(bits=2.5), dict(decay=1.2), dict(threshold=0.0),
                                    dict(scale=-1.0), dict(steps=0)])
def test_membrane_bound_rejects_bad_values(kwargs):
    """Bits < 2, decay outside [0, 1], non-positive threshold or scale, steps < 1 are refused."""
    args = dict(bits=4, decay=0.5, threshold=1.0, scale=None, steps=None) | kwargs
    with pytest.raises(ValueError):
        membrane_bound(**args)


def test_hand_worked_layer_error():
    """b = 2, decay 1/2, theta = s = 1, I = 0.5, 0.5, 0.9: E = 0.5, 0.75, 1.275 (the state rounds to 0, 0, 1)."""
    x = np.array([0.5, 0.5, 0.9])
    assert_array_equal(layer_spikes(x, 0.5, 1.0, "mod", 2, 1.0)[:, 0], [0, 0, 0])
    assert layer_error(x, 0.5, 1.0, 2)[0] == pytest.approx(1.275, rel=1e-15)
    assert 1.275 < membrane_bound(2, 0.5, 1.0, 1.0, steps=3) == 1.375
    assert layer_error(x, 0.5, 1.0, None)[0] == pytest.approx(0.75, rel=1e-15)  # full precision: < theta


# -- the bound: derivation ----------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 2, 3, 5])
def test_derivation_error_identity_residuals_vanish(steps):
    """E_t = R_t - decay D_{t-1} holds for every unrolled step."""
    d = membrane_bound_derivation(steps)
    assert len(d.error_residuals) == steps
    assert all(sp.simplify(r) == 0 for r in d.error_residuals)


def test_derivation_worst_case_reaches_the_bound():
    """eps = -delta at every step and R = theta at the last one give exactly the bound."""
    assert sp.simplify(membrane_bound_derivation(5).worst_case_residual) == 0


def test_derivation_recursions_are_consistent():
    """State recursion minus error recursion, with U_{t-1} = D_{t-1} + E_{t-1}, is the gap recursion."""
    d = membrane_bound_derivation(2)
    E_p, U_p, D_p = sp.symbols("E_t-1 U_t-1 D_t-1", real=True)
    diff = (d.state_recursion.rhs - d.error_recursion.rhs).subs(U_p, D_p + E_p)
    assert sp.simplify(diff - d.gap_recursion.rhs) == 0


@pytest.mark.parametrize("decay", [0.0, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("steps", [1, 2, 6])
def test_symbolic_bound_equals_numeric(decay, steps):
    """The sympy sum, its closed form and membrane_bound agree (differential)."""
    d = membrane_bound_derivation()
    s = d.symbols
    sub = {s["lambda"]: sp.Rational(decay).limit_denominator(1000), s["theta"]: 1, s["delta"]: sp.Rational(1, 2),
           s["T"]: steps}
    closed = float(d.bound.subs(sub)) if decay else 1.0
    assert float(d.bound_sum.subs(sub).doit()) == pytest.approx(closed, rel=1e-12)
    assert closed == pytest.approx(membrane_bound(2, decay, 1.0, 1.0, steps=steps), rel=1e-12)
    assert float(d.bound_limit.subs(sub)) == pytest.approx(membrane_bound(2, decay, 1.0, 1.0), rel=1e-12)


def test_derivation_rejects_bad_steps():
    """steps must be a positive integer."""
    with pytest.raises(ValueError, match="steps"):
        membrane_bound_derivation(0)


# -- the bound: property tests at the layer level ---------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(bits=st.integers(2, 8), decay=st.sampled_from([0.0, 0.3, 0.5, 0.75, 0.9, 1.0]),
       theta=st.sampled_from([0.5, 1.0, 2.5]), scale_factor=st.sampled_from([1.0, 1.5, 4.0]),
       currents=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=40))
def test_mod_error_below_membrane_bound(bits, decay, theta, scale_factor, currents):
    """Property: LIF(reset="mod", membrane_bits=b), I >= 0, s >= theta: ||theta S - I|| < the bound."""
    x = theta * np.asarray(currents)
    scale = scale_factor * theta
    err = layer_error(x, decay, theta, bits, scale)[0]
    bound = membrane_bound(bits, decay, theta, scale, steps=len(currents))
    assert err <= bound * (1 + REL)


@settings(max_examples=200, deadline=None)
@given(bits=st.integers(2, 8), decay=st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0]),
       theta=st.sampled_from([0.5, 1.0, 2.5]), scale_factor=st.sampled_from([1.0, 1.5, 4.0]),
       steps=st.lists(st.one_of(st.floats(0.0, 3.0), st.floats(0.99, 1.0).map(lambda f: -f)), min_size=1,
                      max_size=30),
       last=st.floats(0.99, 1.0, exclude_max=True))
def test_mod_error_below_membrane_bound_near_the_extremal_currents(bits, decay, theta, scale_factor, steps, last):
    """Property: currents mixing random steps with sub-half-step ones (-f: f delta) and a last one just
    below theta, where the error comes close to the bound, stay below it."""
    scale = scale_factor * theta
    delta = rounding_step(bits, theta, scale)
    x = np.array([-v * delta if v < 0 else v * theta for v in steps] + [last * theta])
    err = layer_error(x, decay, theta, bits, scale)[0]
    assert err <= membrane_bound(bits, decay, theta, scale, steps=len(x)) * (1 + REL)


@settings(max_examples=100, deadline=None)
@given(bits=st.integers(2, 8), decay=st.sampled_from([0.0, 0.5, 0.9, 1.0]),
       currents=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=30))
def test_layer_error_equals_plain_definition(bits, decay, currents):
    """Property (differential): the layer's spikes and the batched norm equal plain Python references."""
    x = np.asarray(currents)[:, None]
    s = layer_spikes(x, decay, 1.0, "mod", bits)
    ref = reference_layer(x, decay, 1.0, "mod", bits)
    first = np.flatnonzero((s != ref)[:, 0])  # a float tie can break differently; compare before it
    stop = int(first[0]) if first.size else len(currents)
    assert stop == len(currents) or stop > 0
    assert_allclose(error_norms(x[:stop], s[:stop], decay, 1.0), reference_norm(s[:stop] - x[:stop], decay),
                    rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("decay", [0.0, 0.5, 0.9, 1.0])
def test_bound_is_tight(bits, decay):
    """The worst ratio error / bound found is <= 1 and within 1e-5 of 1 (the bound is the supremum)."""
    r = tightness_search(bits, decay, 1.0, steps=12, trials=32, iterations=10, seed=bits)
    assert r.worst_ratio <= 1.0 + REL
    assert r.worst_ratio >= 1.0 - 1e-5
    assert max(r.ratios["random"], r.ratios["optimised"]) <= 1.0 + REL
    assert r.ratios["optimised"] >= r.ratios["random"]


def test_adversarial_currents_never_fire():
    """The extremal currents stay below threshold: the rounding erases them, the error still grows."""
    x = adversarial_currents(4, 0.9, 1.0, steps=20, margin=1e-3)
    assert_array_equal(layer_spikes(x, 0.9, 1.0, "mod", 4), 0.0)
    assert layer_error(x, 0.9, 1.0, 4)[0] == pytest.approx((1 - 1e-3) * membrane_bound(4, 0.9, 1.0, steps=20))


def test_bound_fails_with_clipping():
    """Counterexample: scale s = theta / 2 clips the stored remainder 0.99 to 0.5 every step (H stays 0.99)."""
    x = np.array([0.99] + [0.99 - 0.5 * 0.5] * 7)
    assert_array_equal(layer_spikes(x, 0.5, 1.0, "mod", 8, 0.5), 0.0)
    bound = membrane_bound(8, 0.5, 1.0, 0.5, steps=8)
    assert layer_error(x, 0.5, 1.0, 8, 0.5)[0] > 1.3 * bound
    assert tightness_search(8, 0.5, 1.0, 0.5, steps=8, trials=32, iterations=5).worst_ratio > 1.2


def test_bound_fails_with_negative_currents():
    """Counterexample: a negative current never fires in the layer, so the error is its size."""
    assert layer_error([-3.0], 0.5, 1.0, 4)[0] == pytest.approx(3.0)
    x = np.array([-0.9, -0.9, -0.9, -0.9])  # and the negative state is clipped at -s on top
    assert layer_error(x, 0.9, 1.0, 4)[0] > 2 * membrane_bound(4, 0.9, 1.0, steps=4)


# -- quantization errors of currents -------------------------------------------------------------------


@pytest.mark.parametrize("bits", [None, 2, 4])
def test_quantization_errors_equal_plain_definition(bits):
    """Differential: every reset's per-neuron error equals the plain layer + O(T^2) definition, / theta."""
    rng = np.random.default_rng(11)
    x = rng.normal(0.4, 1.0, size=(6, 3, 4))
    theta, decay = 0.8, 0.6
    got = quantization_errors(x, decay, theta, bits=bits)
    assert set(got) == {"zero", "subtract", "mod"}
    flat = x.reshape(6, -1)
    for reset, err in got.items():
        assert err.shape == (3, 4)
        s = reference_layer(flat, decay, theta, reset, bits)
        assert_allclose(err.ravel(), reference_norm(theta * s - flat, decay) / theta, rtol=1e-12, atol=1e-12)


def test_quantization_errors_golden():
    """I = 0.9 three times, theta = 1, decay 1: reset-to-zero 1.7 (Part I's counterexample), mod 0.9."""
    err = quantization_errors(np.full(3, 0.9), 1.0, 1.0)
    assert err["zero"] == pytest.approx(1.7)
    assert err["subtract"] == pytest.approx(0.9)
    assert err["mod"] == pytest.approx(0.9)


def test_quantization_errors_of_zero_currents_are_zero():
    """Zero currents: no spikes, no error."""
    err = quantization_errors(torch.zeros(5, 2, 3), 0.5, 1.0, bits=2)
    for v in err.values():
        assert_array_equal(v, np.zeros((2, 3)))


def test_quantization_errors_of_huge_currents():
    """Huge positive currents: reset-to-mod stays below 1 (Theorem 1), reset-to-zero grows with them."""
    x = np.random.default_rng(0).uniform(1e5, 1e6, size=(8, 50))
    err = quantization_errors(x, 0.5, 1.0, resets=("zero", "mod"))
    assert err["mod"].max() < 1.0 + 1e-6
    assert err["zero"].min() > 1e5


def test_quantization_errors_of_empty_inputs():
    """No steps: zeros per neuron; no neurons: an empty array of the right shape."""
    assert_array_equal(quantization_errors(np.zeros((0, 3)), 0.5)["mod"], np.zeros(3))
    assert quantization_errors(np.zeros((4, 0, 2)), 0.5)["zero"].shape == (0, 2)


def test_quantization_errors_reject_bad_input():
    """A scalar, non-finite currents and unknown resets are refused."""
    with pytest.raises(ValueError, match="time axis"):
        quantization_errors(np.float64(1.0), 0.5)
    with pytest.raises(ValueError, match="finite"):
        quantization_errors(np.array([[math.nan]]), 0.5)
    with pytest.raises(ValueError, match="reset"):
        quantization_errors(np.zeros((2, 2)), 0.5, resets=("soft",))


def test_error_norms_reject_mismatched_shapes():
    """spikes must have the shape of the currents."""
    with pytest.raises(ValueError, match="shape"):
        error_norms(np.zeros((3, 2)), np.zeros((3, 1)), 0.5)


# -- inside a trained network ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded():
    from qsnn.data import load_dataset, to_time_first
    from qsnn.experiments import load_run

    run = load_run(ABLATION / "qsnn_wsdr" / "seed0")
    ds = load_dataset("digits", split="test")
    x = torch.stack([ds[i][0] for i in range(24)])
    return run, layer_currents(run.model, to_time_first(x, run.config.time_steps))


def test_layer_currents_records_every_lif_layer(recorded):
    """One record per LIF layer, in depth order, with the layer's configuration and [T, B, ...] currents."""
    run, recs = recorded
    names = [n for n, m in run.model.named_modules() if isinstance(m, LIF)]
    assert [r.name for r in recs] == names
    for r in recs:
        assert r.currents.shape == r.spikes.shape
        assert r.currents.shape[:2] == (run.config.time_steps, 24)
        assert (r.reset, r.bits, r.decay, r.threshold) == ("zero", 2, 0.5, 1.0)
    assert not run.model.training  # the mode is restored (load_run gives an eval model)


def test_recorded_currents_give_back_the_network_spikes(recorded):
    """layer_spikes with the layer's own parameters reproduces the spikes the network emitted."""
    _, recs = recorded
    for r in recs:
        s = layer_spikes(r.currents, r.decay, r.threshold, r.reset, r.bits, r.scale, r.quantizer)
        assert_array_equal(s, r.spikes.reshape(r.currents.shape[0], -1).numpy())


def test_trained_network_errors(recorded):
    """Own 2-bit state: mod below the bound on neurons with non-negative currents; zero exceeds theta."""
    _, recs = recorded
    errs = network_quantization_errors(recs)
    fp = network_quantization_errors(recs, bits=None)
    for r in recs:
        e = errs[r.name]
        assert e["zero"].shape == tuple(r.currents.shape[1:])
        nonneg = (r.currents >= 0).all(0).numpy()
        assert nonneg.sum() > 100
        bound = membrane_bound(r.bits, r.decay, r.threshold, r.scale, steps=r.currents.shape[0])
        assert e["mod"][nonneg].max() <= bound / r.threshold * (1 + 1e-6)
        assert fp[r.name]["mod"][nonneg].max() < 1.0 + 1e-6
        assert e["zero"].max() > 1.0


def test_layer_currents_needs_a_lif_layer():
    """A model without LIF layers is refused."""
    with pytest.raises(ValueError, match="LIF"):
        layer_currents(torch.nn.Linear(2, 2), torch.zeros(1, 2))


def test_module_is_importable_by_name():
    """qsnn.bridge exposes its API in __all__."""
    assert all(hasattr(bridge, name) for name in bridge.__all__)


def test_layer_currents_restores_the_mode_and_removes_its_hooks():
    """A model in training mode is recorded in eval mode and left in training mode, without hooks."""
    lif = LIF(threshold=1.0, decay=0.5, reset="subtract", membrane_bits=4, membrane_scale="calibrated")
    model = torch.nn.Sequential(lif).train()
    x = torch.tensor([[0.4], [1.3], [0.2]], dtype=torch.float64)
    (rec,) = layer_currents(model, x)
    assert model.training and not lif._forward_hooks
    assert float(lif.running_scale) == 1.0  # eval mode: the calibrated scale did not move
    assert rec.name == "0" and rec.scale == 1.0 and rec.neurons == 1
    assert_array_equal(rec.currents.numpy(), x.numpy())
    assert_array_equal(rec.spikes.numpy()[:, 0], [0, 1, 0])


# -- distributions and the cost of spikes ----------------------------------------------------------------


def test_error_summary_golden():
    """Quantiles, max and the shares at or above theta and above a bound, on a hand-made sample."""
    e = np.array([[0.2, 0.5], [1.0, 1.5]])
    s = error_summary(e, bound=1.2)
    assert s["n"] == 4 and s["mean"] == pytest.approx(0.8) and s["max"] == 1.5
    assert s["q50"] == pytest.approx(0.75) and s["above_threshold"] == 0.5 and s["above_bound"] == 0.25
    assert "above_bound" not in error_summary(e)
    empty = error_summary([], bound=1.0)
    assert empty["n"] == 0 and empty["max"] is None and empty["above_bound"] is None
    with pytest.raises(ValueError, match="finite"):
        error_summary([math.inf])


def test_nonnegative_neurons_needs_every_step():
    x = torch.tensor([[[0.0, 1.0, -0.1]], [[2.0, 0.0, 1.0]]])  # [T=2, B=1, 3]
    assert_array_equal(nonnegative_neurons(x), [[True, True, False]])


def _chain(reset):
    from qsnn.models import ConvBNLIF, SpikingModel

    torch.manual_seed(0)
    lif = dict(threshold=1.0, decay=0.5, reset=reset)
    stages = [ConvBNLIF(torch.nn.Conv2d(1, 4, 3, padding=1, bias=False), LIF(**lif)),
              ConvBNLIF(torch.nn.Conv2d(4, 3, 1, bias=False), LIF(**lif))]
    return SpikingModel("chain", 1, stages, torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()),
                        torch.nn.Linear(3, 5)).eval()


def test_spike_costs_count_by_hand():
    """Events, bits per value and accumulates equal a count by hand from the recorded spikes."""
    model = _chain("mod")
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.fill_(1.0)
    x = 3.0 * torch.rand(2, 3, 1, 5, 5)  # [T, B, C, H, W]
    recs = layer_currents(model, x)
    costs = spike_costs(model, recs)
    assert [c["name"] for c in costs] == [r.name for r in recs]
    for c, r, fan_out in zip(costs, recs, (3 * 1 * 1, 5)):
        s = r.spikes.double()
        assert c["values"] == s[:, 0].numel() and c["events"] == pytest.approx(float(s.sum()) / 3)
        assert c["max_count"] == float(s.max()) and c["fan_out"] == fan_out
        assert c["bits_per_value"] == max(1, math.ceil(math.log2(float(s.max()) + 1)))
        assert c["spike_bits"] == c["values"] * c["bits_per_value"]
        assert c["accumulates"] == pytest.approx(c["events"] * fan_out)
    assert max(c["max_count"] for c in costs) > 1  # reset-to-mod emits counts


def test_spike_costs_of_single_spikes_are_one_bit():
    model = _chain("zero")
    recs = layer_currents(model, 3.0 * torch.rand(2, 3, 1, 5, 5))
    assert all(c["bits_per_value"] == 1 and c["max_count"] <= 1 for c in spike_costs(model, recs))


def test_spike_costs_refuse_what_is_not_a_chain():
    model = _chain("zero")
    recs = layer_currents(model, torch.rand(2, 1, 1, 5, 5))
    with pytest.raises(ValueError, match="records"):
        spike_costs(model, recs[:1])
    branched = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1), torch.nn.Conv2d(1, 1, 1), torch.nn.Conv2d(1, 1, 1), LIF())
    with pytest.raises(ValueError, match="chain"):
        spike_costs(branched, [])


def test_network_error_statistics_agree_with_the_per_layer_errors(recorded):
    """Per layer and pooled: the summaries of network_quantization_errors, the share of non-negative neurons,
    reset-to-mod below the 2-bit bound on them, and a printable table with a row per layer."""
    _, recs = recorded
    stats = network_error_statistics(recs)
    errs = network_quantization_errors(recs)
    assert list(stats) == [r.name for r in recs] + ["all"]
    for r in recs:
        st = stats[r.name]
        nonneg = nonnegative_neurons(r.currents)
        assert st["neurons"] == nonneg.size and st["nonnegative"] == pytest.approx(nonneg.mean())
        assert st["errors"]["zero"]["max"] == pytest.approx(errs[r.name]["zero"].max())
        assert st["bound"] == pytest.approx(membrane_bound(2, 0.5, 1.0, steps=r.currents.shape[0]))
        assert st["mod_nonnegative"]["above_bound"] == 0.0
    assert stats["all"]["errors"]["mod"]["n"] == sum(s["neurons"] for k, s in stats.items() if k != "all")
    assert stats["all"]["errors"]["zero"]["max"] == max(stats[r.name]["errors"]["zero"]["max"] for r in recs)
    text = error_statistics_text(stats)
    assert len(text.splitlines()) == 1 + len(recs) + 1 and "all" in text
