"""Tests of qsnn.spiketrains.symbolic: each displayed derivation of Part I simplifies to what arXiv:2305.08012 states."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from qsnn import symbolic as S


def all_zero(exprs):
    return all(sp.simplify(e) == 0 for e in exprs)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_recursion_equals_definition(n):
    """The O(N) recursion U_k reproduces the definition's partial sums S_k for n symbolic spikes."""
    assert all_zero(S.recursion_residuals(n))


def test_recursion_step_holds_for_every_k():
    """The summand of S_k - exp(-alpha(t_k - t_{k-1})) S_{k-1} - a_k simplifies to 0 for general i, k."""
    step = S.recursion_step_residual()
    assert isinstance(step, sp.Sum)
    assert sp.simplify(step.function) == 0
    assert sp.simplify(step) == 0


def test_definition_has_one_term_per_earlier_spike():
    """S_k sums exactly the k spikes up to and including k, the last one undecayed."""
    s = S.spike_symbols(3)
    sums = S.partial_sums_definition(3)
    assert [len(sp.Add.make_args(e)) for e in sums] == [1, 2, 3]
    assert sums[2].subs(s.alpha, 0) == sum(s.a)
    assert sp.simplify(sums[1] - (s.a[1] + s.a[0] * sp.exp(-s.alpha * (s.t[1] - s.t[0])))) == 0


def test_norm_definition_is_max_of_absolute_partial_sums():
    """The norm of two spikes is max(|a_1|, |a_2 + a_1 exp(-alpha (t_2 - t_1))|)."""
    s = S.spike_symbols(2)
    expected = sp.Max(sp.Abs(s.a[0]), sp.Abs(s.a[1] + s.a[0] * sp.exp(-s.alpha * (s.t[1] - s.t[0]))))
    assert S.norm_definition(2) == expected


def test_limit_alpha_zero_is_classical_alexiewicz():
    """alpha -> 0 gives plain partial sums and the largest absolute partial sum."""
    s = S.spike_symbols(4)
    sums, norm = S.limit_alpha_zero(4)
    assert sums == [sum(s.a[:k + 1]) for k in range(4)]
    assert norm == sp.Max(*[sp.Abs(sum(s.a[:k + 1])) for k in range(4)])


def test_limit_alpha_infinity_is_max_abs_amplitude():
    """alpha -> oo with increasing times leaves each spike alone: the norm is max |a_i|."""
    s = S.spike_symbols(4)
    sums, norm = S.limit_alpha_infinity(4)
    assert sums == list(s.a)
    assert norm == sp.Max(*[sp.Abs(a) for a in s.a])


def test_partial_sum_matrix_is_unit_lower_triangular():
    """L is lower triangular with unit diagonal, det L = 1, and L a gives the partial sums."""
    n = 4
    s = S.spike_symbols(n)
    L = S.partial_sum_matrix(n)
    assert L.is_lower
    assert all(L[k, k] == 1 for k in range(n))
    assert sp.simplify(L.det()) == 1
    assert all_zero(list(L * sp.Matrix(s.a) - sp.Matrix(S.partial_sums_definition(n))))


def test_inverse_is_bidiagonal_with_decay_below_diagonal():
    """a_k = U_k - exp(-alpha (t_k - t_{k-1})) U_{k-1}: the inverse has 1 and -decay, zeros elsewhere."""
    n = 4
    s = S.spike_symbols(n)
    inv = S.amplitudes_from_partial_sums(n)
    for k in range(n):
        for i in range(n):
            if i == k:
                expected = 1
            elif i == k - 1:
                expected = -sp.exp(-s.alpha * (s.t[k] - s.t[k - 1]))
            else:
                expected = 0
            assert sp.simplify(inv[k, i] - expected) == 0


def test_invariances_hold():
    """The partial sums are unchanged by a time shift and by (t, alpha) -> (c t, alpha / c)."""
    res = S.invariance_residuals(3)
    assert set(res) == {"time_shift", "time_scale"}
    assert all_zero(res["time_shift"]) and all_zero(res["time_scale"])


def test_error_identity_induction_step():
    """(E_k - u_k) - d_k (E_{k-1} - u_{k-1}) is identically 0 for a subtractive reset."""
    assert sp.simplify(S.error_identity_step_residual()) == 0


@pytest.mark.parametrize("n", [1, 3, 5])
def test_error_identity_unrolled(n):
    """Leaky partial sums of eta - LIF(eta) equal the post-reset potential, any emitted b_k."""
    assert all_zero(S.error_identity_residuals(n))


def test_error_identity_fails_for_reset_to_zero():
    """With reset-to-zero the error partial sums differ from u_post by the decayed discarded remainders."""
    n = 3
    s = S.spike_symbols(n)
    assert all_zero(S.reset_to_zero_error_gap(n))
    _, u_post = S.lif_potentials(n, "zero")
    errors = S.partial_sums_definition(n, [a - b for a, b in zip(s.a, s.b)])
    assert sp.simplify(errors[-1] - u_post[-1]) != 0


def test_lif_potentials_subtract_emitted_amplitude():
    """The unrolled subtractive LIF keeps the decayed post-reset potential and subtracts b_k."""
    s = S.spike_symbols(2)
    u_pre, u_post = S.lif_potentials(2, "subtract")
    assert u_pre[0] == s.a[0] and u_post[0] == s.a[0] - s.b[0]
    assert sp.simplify(u_pre[1] - (sp.exp(-s.alpha * (s.t[1] - s.t[0])) * (s.a[0] - s.b[0]) + s.a[1])) == 0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 2.0), st.floats(-3, 3)), min_size=1, max_size=4),
       st.floats(0.0, 5.0))
def test_lambdified_norm_matches_numeric_definition(spikes, alpha):
    """The symbolic norm, evaluated numerically, equals max_k |sum_{i<=k} a_i exp(-alpha (t_k - t_i))|."""
    n = len(spikes)
    s = S.spike_symbols(n)
    times = np.cumsum([g for g, _ in spikes])
    amps = np.array([a for _, a in spikes])
    f = sp.lambdify([*s.t, *s.a, s.alpha], S.norm_definition(n), "math")
    expected = max(abs(sum(amps[i] * np.exp(-alpha * (times[k] - times[i])) for i in range(k + 1)))
                   for k in range(n))
    assert f(*times, *amps, alpha) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "3"])
def test_bad_n_is_rejected(bad):
    """A non-positive or non-integer number of spikes raises ValueError naming n."""
    with pytest.raises(ValueError, match="n must be an integer"):
        S.spike_symbols(bad)


def test_wrong_number_of_amplitudes_is_rejected():
    """Amplitudes of the wrong length raise ValueError naming amplitudes."""
    s = S.spike_symbols(2)
    with pytest.raises(ValueError, match="amplitudes must have n=3"):
        S.partial_sums_definition(3, s.a)
    with pytest.raises(ValueError, match="amplitudes must have n=3"):
        S.partial_sums_recursive(3, s.a)


def test_unknown_reset_is_rejected():
    """lif_potentials names the allowed resets when given another."""
    with pytest.raises(ValueError, match=r"reset must be one of \('subtract', 'mod', 'zero'\)"):
        S.lif_potentials(2, "to_zero")


def test_mod_and_subtract_share_the_subtractive_dynamics():
    """Reset-to-mod subtracts what it emits, so its symbolic potentials are those of subtraction."""
    assert S.lif_potentials(3, "mod") == S.lif_potentials(3, "subtract")


def test_latex_writes_time_differences_in_natural_order():
    """latex() prints exp(-alpha (t_2 - t_1)), also for indexed times, and changes nothing else."""
    text = S.latex(S.partial_sums_definition(2)[1])
    assert r"t_{2} - t_{1}" in text and r"- t_{1} + t_{2}" not in text
    step = S.latex(S.recursion_step_residual())
    assert r"{t}_{k} - {t}_{i}" in step and r"{t}_{k} - {t}_{k - 1}" in step
    assert S.latex(sp.Symbol("x") + 1) == sp.latex(sp.Symbol("x") + 1)
