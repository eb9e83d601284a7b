"""Theorem 1 (Moser & Lunglmayr, arXiv:2305.08012) with a b-bit stored membrane: the bound, its derivation
and its tightness.

Derived here, not in either paper. With the uniform quantizer of :mod:`qsnn.nn` (``n = 2**(b-1) - 1`` levels per side, scale ``s``), reset-to-mod and currents ``I >= 0``:
``H[t] = decay U[t-1] + I[t]``, ``S[t] = floor(H[t] / theta)``, remainder ``R[t] = H[t] - theta S[t]`` in
``[0, theta)`` and stored state ``U[t] = Q_b(R[t]) = R[t] + eps[t]``. Unclipped (``R <= s``, which holds
for every step when ``s >= theta``), ``|eps[t]| <= delta = min(s / (2n), theta)``. The gap
``D[t] = U[t] - E[t]`` obeys ``D[t] = decay D[t-1] + eps[t]``, so ``E[t] = R[t] - decay D[t-1]`` and, over
``T`` steps,

    ||theta S - I||_{A,alpha}  <  theta + delta (decay + decay^2 + ... + decay^(T-1))
                               <= theta + delta decay / (1 - decay).

The rounding of the current step does not enter (only the state carried into the next step is rounded),
hence ``decay / (1 - decay)`` and not ``1 / (1 - decay)``. The bound is tight:
:func:`adversarial_currents` reaches it up to any margin (a current just below half a quantization step
is rounded away every step, so the neuron never fires while the error keeps growing). Clipping
(``s < theta``) or negative currents break it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._core.validation import check_int, check_real, check_threshold
from ..nn.quantizers import levels_per_side
from .layer import _check_decay, error_norms, layer_spikes

__all__ = ["rounding_step", "membrane_bound", "MembraneBoundDerivation", "membrane_bound_derivation",
           "adversarial_currents", "Tightness", "tightness_search"]


def rounding_step(bits: int, threshold: float = 1.0, scale: float | None = None) -> float:
    """``delta = min(s / (2n), theta)``: the largest rounding error of one stored reset-to-mod remainder.

    The remainder ``R`` lies in ``[0, theta)``; unclipped, ``Q_b`` moves it by at most half a step
    ``s / (2n)`` (``n = 2**(b-1) - 1``); when half a step is ``theta`` or more, every remainder rounds to 0
    and the error is ``R < theta``.

    Raises
    ------
    ValueError
        For ``bits`` < 2, a non-positive threshold or scale.
    """
    n = levels_per_side(bits)
    theta = check_threshold(threshold)
    s = theta if scale is None else check_real("scale", scale, min=0.0, min_open=True)
    return min(s / (2 * n), theta)


def membrane_bound(bits: int | None, decay: float, threshold: float = 1.0, scale: float | None = None,
                   steps: int | None = None) -> float:
    """The bound replacing Theorem 1's ``theta`` for reset-to-mod with a b-bit stored membrane.

    ``theta + delta (decay + ... + decay^(steps - 1))`` with ``delta`` from :func:`rounding_step`; for
    ``steps=None`` the supremum over all lengths, ``theta + delta decay / (1 - decay)`` (inf for
    ``decay = 1``). The error ``||theta S - I||_{A,alpha}`` of :class:`qsnn.nn.LIF` with ``reset="mod"``,
    the uniform quantizer and ``membrane_scale=scale`` is strictly below it for every non-negative
    current whose stored remainders are never clipped (guaranteed when ``scale >= threshold``); the
    bound is tight (:func:`tightness_search`). The proof is in the module docstring and
    :func:`membrane_bound_derivation`.

    Parameters
    ----------
    bits : int or None
        ``membrane_bits`` b >= 2; None: full-precision state, the bound is ``theta`` (Theorem 1).
    decay : float
        Leak per step in [0, 1].
    threshold : float
        ``theta`` > 0.
    scale : float or None
        The quantizer's scale s > 0 (None: the threshold, the layer's default).
    steps : int or None
        Number of steps T >= 1, or None for all T.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For bad parameters.
    """
    decay = _check_decay(decay)
    theta = check_threshold(threshold)
    if steps is not None:
        steps = check_int("steps", steps, min=1)
    if bits is None:
        return theta
    delta = rounding_step(bits, theta, scale)
    if steps is None:
        geometric = math.inf if decay == 1.0 else decay / (1.0 - decay)
    else:
        geometric = float(steps - 1) if decay == 1.0 else decay * (1.0 - decay ** (steps - 1)) / (1.0 - decay)
    return theta + delta * geometric


@dataclass(frozen=True)
class MembraneBoundDerivation:
    """The derivation of :func:`membrane_bound` as sympy objects (see :func:`membrane_bound_derivation`).

    Attributes
    ----------
    symbols : dict
        ``lambda`` (decay), ``theta``, ``delta``, ``T`` and the per-step symbols ``I``, ``S``, ``eps``
        (tuples of length ``steps``).
    error_recursion : sympy.Eq
        ``E_t = lambda E_{t-1} + I_t - theta S_t``: the leaky partial sums of the error train.
    state_recursion : sympy.Eq
        ``U_t = lambda U_{t-1} + I_t - theta S_t + eps_t``: reset-to-mod with the stored state rounded.
    gap_recursion : sympy.Eq
        ``D_t = lambda D_{t-1} + eps_t`` for ``D_t = U_t - E_t``.
    error_residuals : list of sympy.Expr
        ``E_t - (R_t - lambda D_{t-1})`` for t = 1..steps, unrolled from zero state with
        ``R_t = lambda U_{t-1} + I_t - theta S_t`` and ``D_{t-1} = sum_k lambda^(t-1-k) eps_k``; each
        simplifies to 0.
    bound_sum : sympy.Expr
        ``theta + delta sum_{j=1}^{T-1} lambda^j``.
    bound : sympy.Expr
        Its closed form for ``lambda != 1``.
    bound_limit : sympy.Expr
        ``T -> oo`` for ``0 <= lambda < 1``: ``theta + delta lambda / (1 - lambda)``.
    worst_case_residual : sympy.Expr
        The error at the extremal choice (every ``eps_k = -delta``, last remainder ``R_T = theta``) minus
        ``bound_sum`` at ``T = steps``; simplifies to 0 (the bound is the supremum).
    """

    symbols: dict
    error_recursion: object
    state_recursion: object
    gap_recursion: object
    error_residuals: list
    bound_sum: object
    bound: object
    bound_limit: object
    worst_case_residual: object


def membrane_bound_derivation(steps: int = 4) -> MembraneBoundDerivation:
    """Derive the bound of :func:`membrane_bound` symbolically for ``steps`` unrolled steps.

    The steps of the proof (the same as Part I's proof of Theorem 1, with one more term):

    1. the leaky partial sums of ``theta S - I`` at unit steps are ``-E_t`` with
       ``E_t = lambda E_{t-1} + I_t - theta S_t`` (Part I's recursion of the norm);
    2. reset-to-mod subtracts what it emits, so without rounding ``U_t = E_t`` (Part I's error identity)
       and ``|E_t| < theta``;
    3. with the stored state rounded, ``U_t = R_t + eps_t``; the gap ``D_t = U_t - E_t`` obeys
       ``D_t = lambda D_{t-1} + eps_t``, so ``E_t = R_t - lambda D_{t-1}``;
    4. ``0 <= R_t < theta`` and ``|eps_k| <= delta`` give ``|E_t| < theta + delta sum_{j=1}^{t} lambda^j``
       for the t-th step counted from 0, and the largest over ``T`` steps is the bound; it is reached
       in the limit by ``eps_k = -delta`` and ``R_{T-1} -> theta``.

    Parameters
    ----------
    steps : int
        Number of unrolled steps (>= 1) for the residuals.

    Returns
    -------
    MembraneBoundDerivation

    Raises
    ------
    ValueError
        If ``steps`` is not a positive integer.
    """
    import sympy as sp

    steps = check_int("steps", steps, min=1)
    lam = sp.Symbol("lambda", nonnegative=True)
    theta, delta = sp.symbols("vartheta delta", positive=True)
    T, j = sp.symbols("T j", integer=True, positive=True)
    I = sp.symbols(f"I_1:{steps + 1}", real=True)
    S = sp.symbols(f"S_1:{steps + 1}", integer=True, nonnegative=True)
    eps = sp.symbols(f"epsilon_1:{steps + 1}", real=True)
    E_t, E_p, U_t, U_p, D_t, D_p, I_t, S_t, e_t = sp.symbols(
        "E_t E_t-1 U_t U_t-1 D_t D_t-1 I_t S_t epsilon_t", real=True)
    error_recursion = sp.Eq(E_t, lam * E_p + I_t - theta * S_t)
    state_recursion = sp.Eq(U_t, lam * U_p + I_t - theta * S_t + e_t)
    gap_recursion = sp.Eq(D_t, lam * D_p + e_t)

    residuals = []
    e_prev = u_prev = sp.Integer(0)
    for t in range(steps):
        r_t = lam * u_prev + I[t] - theta * S[t]  # the remainder before rounding
        e_t_val = lam * e_prev + I[t] - theta * S[t]  # leaky partial sum of I - theta S
        gap_prev = sp.Add(*[lam ** (t - 1 - k) * eps[k] for k in range(t)])  # D_{t-1}, closed form
        residuals.append(e_t_val - (r_t - lam * gap_prev))
        u_prev = r_t + eps[t]
        e_prev = e_t_val

    bound_sum = theta + delta * sp.Sum(lam ** j, (j, 1, T - 1))
    bound = theta + delta * lam * (1 - lam ** (T - 1)) / (1 - lam)
    bound_limit = theta + delta * lam / (1 - lam)
    worst = theta - lam * sp.Add(*[lam ** (steps - 2 - k) * (-delta) for k in range(steps - 1)])
    worst_case_residual = worst - bound_sum.subs(T, steps).doit()
    return MembraneBoundDerivation(
        symbols={"lambda": lam, "theta": theta, "delta": delta, "T": T, "I": I, "S": S, "eps": eps},
        error_recursion=error_recursion, state_recursion=state_recursion, gap_recursion=gap_recursion,
        error_residuals=residuals, bound_sum=bound_sum, bound=bound, bound_limit=bound_limit,
        worst_case_residual=worst_case_residual,
    )


def adversarial_currents(bits: int, decay: float, threshold: float = 1.0, scale: float | None = None,
                         steps: int = 16, margin: float = 1e-6) -> np.ndarray:
    """Non-negative currents whose reset-to-mod error comes within ``margin`` (relative) of the bound.

    ``T - 1`` steps of ``(1 - margin) delta`` (a remainder just below half a quantization step, rounded to
    0 when stored: ``eps = -(1 - margin) delta`` and the neuron never fires), then one step of
    ``(1 - margin) theta``. The error is ``(1 - margin) membrane_bound(bits, decay, threshold, scale,
    steps)``, as long as ``delta < theta`` or half a step rounds everything to 0.

    Returns
    -------
    ndarray of float64, shape [steps]

    Raises
    ------
    ValueError
        For bad parameters or a margin outside (0, 1).
    """
    theta = check_threshold(threshold)
    steps = check_int("steps", steps, min=1)
    margin = check_real("margin", margin, min=0.0, max=1.0, min_open=True, max_open=True)
    _check_decay(decay)
    delta = rounding_step(bits, theta, scale)
    x = np.full(steps, (1.0 - margin) * delta)
    x[-1] = (1.0 - margin) * theta
    return x


@dataclass(frozen=True)
class Tightness:
    """Result of :func:`tightness_search`.

    Attributes
    ----------
    bound : float
        :func:`membrane_bound` for the searched setting and length.
    worst_ratio : float
        The largest ``||theta S - I|| / bound`` found (<= 1 where the bound's assumptions hold).
    worst_currents : ndarray, shape [steps]
        The currents that reach it.
    ratios : dict
        The best ratio of each search: ``"random"``, ``"optimised"`` (hill climbing from the best random
        currents) and ``"constructed"`` (:func:`adversarial_currents`).
    """

    bound: float
    worst_ratio: float
    worst_currents: np.ndarray
    ratios: dict = field(default_factory=dict)


def _mod_errors(x: np.ndarray, decay, theta, bits, scale) -> np.ndarray:
    """Per column of x [T, N]: ||theta S - I|| of the layer with reset-to-mod (not divided by theta)."""
    s = layer_spikes(x, decay, theta, "mod", bits, scale)
    return theta * error_norms(x, s, decay, theta)


def tightness_search(bits: int, decay: float, threshold: float = 1.0, scale: float | None = None, steps: int = 16,
                     trials: int = 512, iterations: int = 200, high: float = 2.0, seed: int = 0,
                     margin: float = 1e-6) -> Tightness:
    """Search currents that make the reset-to-mod error of a b-bit layer as large as possible.

    Three searches, each measured with the layer itself (:class:`qsnn.nn.LIF` semantics, float64) and
    Part I's norm: ``trials`` random currents uniform in ``[0, high theta]``; hill climbing from the best
    of them (``iterations`` rounds of ``trials`` perturbed copies each, Gaussian steps shrinking from
    ``0.1 theta``, clipped at 0; ``high`` and ``scale`` are not enforced, so a ``scale < threshold`` can
    clip); and :func:`adversarial_currents`. The ratio to :func:`membrane_bound` is <= 1 whenever the
    stored remainders are not clipped.

    Parameters
    ----------
    bits, decay, threshold, scale, steps
        The setting, as :func:`membrane_bound`.
    trials, iterations : int
        Candidates per round and rounds of hill climbing.
    high : float
        Upper end of the random currents, in units of theta (> 0).
    seed : int
        Seed of ``numpy.random.default_rng``.
    margin : float
        Of :func:`adversarial_currents`.

    Returns
    -------
    Tightness
    """
    theta = check_threshold(threshold)
    steps = check_int("steps", steps, min=1)
    trials = check_int("trials", trials, min=1)
    iterations = check_int("iterations", iterations, min=0)
    high = check_real("high", high, min=0.0, min_open=True)
    bound = membrane_bound(bits, decay, theta, scale, steps)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, high * theta, size=(steps, trials))
    err = _mod_errors(x, decay, theta, bits, scale)
    best_x, best = x[:, int(np.argmax(err))].copy(), float(err.max())
    ratios = {"random": best / bound}
    for it in range(iterations):
        sigma = 0.1 * theta * (1.0 - it / max(iterations, 1)) + 1e-4 * theta
        cand = np.clip(best_x[:, None] + sigma * rng.standard_normal((steps, trials)), 0.0, None)
        err = _mod_errors(cand, decay, theta, bits, scale)
        k = int(np.argmax(err))
        if err[k] > best:
            best, best_x = float(err[k]), cand[:, k].copy()
    ratios["optimised"] = best / bound
    adv = adversarial_currents(bits, decay, theta, scale, steps, margin)
    adv_err = float(_mod_errors(adv[:, None], decay, theta, bits, scale)[0])
    ratios["constructed"] = adv_err / bound
    if adv_err > best:
        best, best_x = adv_err, adv
    return Tightness(bound=bound, worst_ratio=best / bound, worst_currents=best_x, ratios=ratios)
