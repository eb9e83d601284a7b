"""Part I's quantization theory inside Q-SNNs: the multi-step LIF layer as a spike-train quantizer.

At unit time steps the current ``I[t]`` of a Q-SNN layer (Wei et al., arXiv:2406.13672) is a spike train
with one event per step, ``eta = sum_t I[t] delta(. - t)``, and the layer's spikes scaled by the threshold,
``theta S[t]``, are its quantization in the sense of Moser & Lunglmayr (arXiv:2305.08012, Secs. 3-4).
The leak per step is ``decay = exp(-alpha)``; with it, the leaky Alexiewicz norm of the error train
``theta S - I`` is ``max_t |E[t]|`` with ``E[t] = decay E[t-1] + I[t] - theta S[t]`` (``E[-1] = 0``).

Where the layer and Part I's neuron differ (each shown by a counterexample in ``tests/unit/test_bridge.py``):

- one-sided firing: the layer never fires on a negative potential, Part I's neuron fires ``-theta``
  (or a negative multiple of theta for reset-to-mod); only non-negative currents compare;
- the firing rule at equality: "zero" and "subtract" fire at ``H > V_th`` in the layer (the authors'
  code) and at ``|u| >= theta`` in Part I; "mod" emits ``floor(H / V_th)`` in both, but Part I also
  fires within a relative tolerance below a multiple of theta (:data:`qsnn.FIRING_RTOL`);
- a zero current is no event in Part I, so nothing is checked against the threshold there, while the
  layer checks every step: after reset-by-subtraction the potential can stay above the threshold and
  fire again on a zero current;
- the stored state: with ``membrane_bits`` the layer rounds the state kept between steps, which Part I
  does not; :func:`membrane_bound` replaces Theorem 1's ``theta`` for reset-to-mod.

Theorem 1 with a b-bit stored membrane (derived here, not in either paper). With the uniform quantizer of
:mod:`qsnn.nn` (``n = 2**(b-1) - 1`` levels per side, scale ``s``), reset-to-mod and currents ``I >= 0``:
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

The module also measures these norms inside trained networks: :func:`layer_currents` records the input
currents of every :class:`qsnn.nn.LIF` of a model, :func:`quantization_errors` computes per neuron the
norm of ``theta S - I`` divided by theta for the network's own reset and for the others on the same
currents, with Part I's batched kernel (:func:`qsnn.alexiewicz_norm_batch`, one call per layer and reset).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ._extras import require_extra

require_extra("torch", "qsnn.bridge", modules=("torch",))  # a message naming the extra, not a bare ModuleNotFoundError

import numpy as np
import torch

from ._resets import RESETS
from ._validation import check_choice, check_int, check_real, check_reset, check_threshold
from .alexiewicz import alexiewicz_norm_batch
from .nn import LIF, lif_multistep
from .nn.quantizers import MEMBRANE_QUANTIZERS, levels_per_side
from .quantizer import lif_batch

__all__ = [
    "part1_parameters",
    "layer_parameters",
    "SideBySide",
    "run_both",
    "layer_spikes",
    "error_norms",
    "rounding_step",
    "membrane_bound",
    "MembraneBoundDerivation",
    "membrane_bound_derivation",
    "adversarial_currents",
    "Tightness",
    "tightness_search",
    "LayerCurrents",
    "layer_currents",
    "quantization_errors",
    "network_quantization_errors",
    "nonnegative_neurons",
    "error_summary",
    "network_error_statistics",
    "error_statistics_text",
    "spike_costs",
]


# ---------------------------------------------------------------------------------------------------
# Parameters and the two neurons side by side
# ---------------------------------------------------------------------------------------------------


def _check_decay(decay) -> float:
    return check_real("decay", decay, min=0.0, max=1.0)


def part1_parameters(decay: float, threshold: float) -> tuple[float, float]:
    """Part I's ``(alpha, theta)`` of a layer with leak ``decay`` per unit step and threshold ``V_th``.

    ``alpha = -ln(decay)``: ``decay = 1`` (no leak, the IF neuron) is ``alpha = 0``, ``decay = 0`` (no
    memory between steps) is ``alpha = inf``; ``theta = V_th``.

    Raises
    ------
    ValueError
        If ``decay`` is not in [0, 1] or ``threshold`` is not a finite number > 0.
    """
    decay = _check_decay(decay)
    theta = check_threshold(threshold)
    alpha = math.inf if decay == 0.0 else (0.0 if decay == 1.0 else -math.log(decay))
    return alpha, theta


def layer_parameters(alpha: float, theta: float) -> tuple[float, float]:
    """The layer's ``(decay, threshold)`` for Part I's leak rate ``alpha`` at unit steps and ``theta``.

    ``decay = exp(-alpha)`` (0 for ``alpha = inf``), ``threshold = theta``; the inverse of
    :func:`part1_parameters`.

    Raises
    ------
    ValueError
        If ``alpha`` is negative or NaN or ``theta`` is not a finite number > 0.
    """
    alpha = check_real("alpha", alpha, min=0.0, finite=False)
    theta = check_threshold(theta)
    return (0.0 if math.isinf(alpha) else math.exp(-alpha)), theta


def _as_steps(currents, name: str = "currents") -> np.ndarray:
    """currents as a float64 array [T, N] (a 1-D input is one neuron)."""
    if isinstance(currents, torch.Tensor):
        currents = currents.detach().cpu().numpy()
    x = np.asarray(currents, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must be an array [T] or [T, N] (time first), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def _unit_times(n_rows: int, steps: int) -> np.ndarray:
    return np.broadcast_to(np.arange(float(steps)), (n_rows, steps))


@dataclass(frozen=True)
class SideBySide:
    """Outputs of the layer and of Part I's neuron on the same currents, as amplitudes on the step grid.

    Attributes
    ----------
    currents : ndarray, shape [T, N]
    layer : ndarray, shape [T, N]
        ``theta S[t]`` of :func:`qsnn.nn.lif_multistep` (full-precision membrane).
    part1 : ndarray, shape [T, N]
        Output amplitudes of :func:`qsnn.lif_batch` at times 0, 1, ..., T - 1 with ``alpha = -ln decay``.
    decay, threshold, alpha : float
    reset : str
    """

    currents: np.ndarray
    layer: np.ndarray
    part1: np.ndarray
    decay: float
    threshold: float
    alpha: float
    reset: str

    @property
    def agree(self) -> np.ndarray:
        """bool [N]: the two outputs are equal at every step (exactly)."""
        return np.all(self.layer == self.part1, axis=0)


def run_both(currents, decay: float, threshold: float = 1.0, reset: str = "mod") -> SideBySide:
    """Run the Q-SNN layer and Part I's event-driven LIF on the same currents at unit time steps.

    Parameters
    ----------
    currents : array_like or torch.Tensor, shape [T] or [T, N]
        Input current of each neuron at each step (time first).
    decay : float
        The layer's leak per step, in [0, 1]; Part I runs with ``alpha = -ln decay``.
    threshold : float
        ``V_th = theta`` > 0.
    reset : {"zero", "subtract", "mod"}

    Returns
    -------
    SideBySide
        Equal (``agree`` all True) for non-negative currents without exact ties at the threshold; the
        module docstring lists where they differ.

    Raises
    ------
    ValueError
        For currents that are not finite [T] / [T, N] arrays, or bad parameters.
    """
    x = _as_steps(currents)
    alpha, theta = part1_parameters(decay, threshold)
    reset = check_reset(reset)
    layer = theta * layer_spikes(x, decay, theta, reset)
    part1 = lif_batch(_unit_times(x.shape[1], x.shape[0]), x.T, threshold=theta, alpha=alpha, reset=reset).T
    return SideBySide(currents=x, layer=layer, part1=np.ascontiguousarray(part1), decay=float(decay),
                      threshold=theta, alpha=alpha, reset=reset)


def _flat_tensor(currents) -> tuple[torch.Tensor, tuple]:
    """currents [T, ...] as a CPU tensor [T, N] (float32 kept, anything else float64) and the shape [...]."""
    if isinstance(currents, torch.Tensor):
        c = currents.detach().cpu()
        if c.dtype != torch.float32:
            c = c.double()
    else:
        c = torch.from_numpy(np.asarray(currents, dtype=np.float64))
    if c.ndim < 1:
        raise ValueError(f"currents must have a time axis first, [T, ...], got shape {tuple(c.shape)}")
    if not bool(torch.isfinite(c).all()):
        raise ValueError("currents must be finite")
    shape = tuple(c.shape[1:])
    return c.reshape(c.shape[0], math.prod(shape)), shape


def layer_spikes(currents, decay: float, threshold: float = 1.0, reset: str = "zero", bits: int | None = None,
                 scale: float | None = None, quantizer: str = "uniform") -> np.ndarray:
    """Spike counts ``S[t]`` of the Q-SNN layer on given currents, as a float64 array [T, N].

    A thin wrapper of :func:`qsnn.nn.lif_multistep` (no gradients). A float32 tensor runs in float32, so
    the currents recorded from a float32 network give back its own spikes bit for bit; anything else
    runs in float64.

    Parameters
    ----------
    currents : array_like or torch.Tensor, shape [T, ...]
        Time first; the other axes are flattened into neurons.
    decay, threshold, reset
        As :class:`qsnn.nn.LIF`.
    bits : int or None
        ``membrane_bits`` (None: full-precision state).
    scale : float or None
        ``membrane_scale`` of the uniform quantizer (None: the threshold).
    quantizer : {"uniform", "tanh"}
    """
    x, _ = _flat_tensor(currents)
    check_choice("quantizer", quantizer, MEMBRANE_QUANTIZERS)
    with torch.no_grad():
        s = lif_multistep(x, decay=float(decay), threshold=float(threshold), reset=reset, membrane_bits=bits,
                          membrane_quantizer=quantizer, membrane_scale=None if quantizer == "tanh" else scale)
    return s.double().numpy()


def error_norms(currents, spikes, decay: float, threshold: float = 1.0) -> np.ndarray:
    """Per neuron ``||theta S - I||_{A,alpha} / theta`` at unit steps, ``alpha = -ln decay``.

    One call of Part I's batched kernel (:func:`qsnn.alexiewicz_norm_batch`) over all neurons: the error
    train of neuron j has amplitude ``theta S[t, j] - I[t, j]`` at time t.

    Parameters
    ----------
    currents, spikes : array_like, shape [T, N]
    decay : float
        In [0, 1].
    threshold : float

    Returns
    -------
    ndarray of float64, shape [N]
        0 for neurons whose spikes equal their currents; an empty array for N = 0; zeros for T = 0.

    Raises
    ------
    ValueError
        For arrays of other shapes or non-finite entries, or bad parameters.
    """
    x = _as_steps(currents)
    s = _as_steps(spikes, "spikes")
    if s.shape != x.shape:
        raise ValueError(f"spikes must have the shape of currents {x.shape}, got {s.shape}")
    alpha, theta = part1_parameters(decay, threshold)
    steps, n = x.shape
    if steps == 0 or n == 0:
        return np.zeros(n)
    amps = np.ascontiguousarray((theta * s - x).T)
    return alexiewicz_norm_batch(_unit_times(n, steps), amps, alpha) / theta


# ---------------------------------------------------------------------------------------------------
# Theorem 1 with a b-bit stored membrane
# ---------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------
# Norms measured inside trained networks
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerCurrents:
    """The input currents and spikes of one LIF layer of a network, recorded on some inputs.

    Attributes
    ----------
    name : str
        The module's name in ``model.named_modules()``.
    currents : torch.Tensor, shape [T, B, ...]
        ``I[t]``, the layer's input (detached copy, the network's dtype).
    spikes : torch.Tensor, shape [T, B, ...]
        ``S[t]``, the layer's output.
    decay, threshold : float
    reset : str
    bits : int or None
        ``membrane_bits``.
    scale : float or None
        The uniform quantizer's scale at recording time (None for the tanh quantizer).
    quantizer : str
    """

    name: str
    currents: torch.Tensor
    spikes: torch.Tensor
    decay: float
    threshold: float
    reset: str
    bits: int | None
    scale: float | None
    quantizer: str

    @property
    def neurons(self) -> int:
        """Neurons per time step and sample batch: ``B * prod(...)``."""
        return int(np.prod(self.currents.shape[1:]))


def layer_currents(model: torch.nn.Module, x: torch.Tensor) -> list[LayerCurrents]:
    """Record the input currents ``I[t]`` (and spikes) of every :class:`qsnn.nn.LIF` of ``model`` on ``x``.

    Forward hooks on the LIF modules, one forward pass in eval mode without gradients (the model's mode is
    restored, the hooks removed, also on errors).

    Parameters
    ----------
    model : torch.nn.Module
        A network whose spiking layers are :class:`qsnn.nn.LIF` (e.g. :func:`qsnn.models.build`).
    x : torch.Tensor
        Its input, time first ``[T, B, ...]`` (:func:`qsnn.data.to_time_first` for loader batches).

    Returns
    -------
    list of LayerCurrents
        In the order the layers ran.

    Raises
    ------
    ValueError
        If the model has no LIF layer.
    """
    lifs = [(name, m) for name, m in model.named_modules() if isinstance(m, LIF)]
    if not lifs:
        raise ValueError(f"{type(model).__name__} has no qsnn.nn.LIF layer to record")
    records: list[LayerCurrents] = []

    def hook(name):
        def record(module, inputs, output):
            tanh = module.membrane_quantizer == "tanh"
            records.append(LayerCurrents(
                name=name, currents=inputs[0].detach().clone(), spikes=output.detach().clone(),
                decay=module.decay, threshold=module.threshold, reset=module.reset, bits=module.membrane_bits,
                scale=None if tanh else module.scale(), quantizer=module.membrane_quantizer))
        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in lifs]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return records


def quantization_errors(currents, decay: float, threshold: float = 1.0, resets=RESETS, bits: int | None = None,
                        scale: float | None = None, quantizer: str = "uniform") -> dict:
    """Per neuron ``||theta S - I||_{A,alpha} / theta`` for each reset, on the same currents.

    For every reset the layer (:func:`layer_spikes`, with the given membrane quantization) runs on the
    currents; then one call of Part I's batched norm over all neurons (:func:`error_norms`). With the
    network's own reset, bits, scale and quantizer, and its float32 currents, the spikes are the
    network's own.

    Parameters
    ----------
    currents : torch.Tensor or array_like, shape [T, ...]
        Time-first currents (e.g. :attr:`LayerCurrents.currents`, shape [T, B, C, H, W]).
    decay, threshold : float
    resets : sequence of {"zero", "subtract", "mod"}
    bits, scale, quantizer
        The stored membrane, as :func:`layer_spikes`.

    Returns
    -------
    dict
        ``{reset: ndarray of float64, shape currents.shape[1:]}``. Reset-to-mod stays below 1 with a
        full-precision state (Theorem 1) and below ``membrane_bound / theta`` with a b-bit one on
        non-negative currents.

    Raises
    ------
    ValueError
        For currents without a time axis, non-finite currents, an unknown reset or bad parameters.
    """
    flat, shape = _flat_tensor(currents)
    resets = tuple(check_reset(r) for r in resets)
    out = {}
    for reset in resets:
        s = layer_spikes(flat, decay, threshold, reset, bits, scale, quantizer)
        out[reset] = error_norms(flat.double().numpy(), s, decay, threshold).reshape(shape)
    return out


def network_quantization_errors(records, resets=RESETS, bits="own") -> dict:
    """:func:`quantization_errors` of every recorded layer with the layer's own parameters.

    Parameters
    ----------
    records : list of LayerCurrents
        From :func:`layer_currents`.
    resets : sequence of str
    bits : "own", int or None
        ``"own"``: each layer's membrane (bits, scale, quantizer); an int or None overrides the bits
        (uniform quantizer with the layer's scale, or the threshold for a tanh layer).

    Returns
    -------
    dict
        ``{layer name: {reset: ndarray [B, ...]}}``.
    """
    out = {}
    for r in records:
        if bits == "own":
            b, s, q = r.bits, r.scale, r.quantizer
        else:
            b, s, q = bits, r.scale, "uniform"
        out[r.name] = quantization_errors(r.currents, r.decay, r.threshold, resets, b, s, q)
    return out


def nonnegative_neurons(currents) -> np.ndarray:
    """bool ``[...]``: the neurons whose current is >= 0 at every step (time first ``[T, ...]``), the ones
    Theorem 1 and :func:`membrane_bound` speak of."""
    flat, shape = _flat_tensor(currents)
    return (flat >= 0).all(dim=0).numpy().reshape(shape)


ERROR_QUANTILES = (0.5, 0.9, 0.99)


def error_summary(errors, bound: float | None = None) -> dict:
    """Distribution of per-neuron errors ``||theta S - I|| / theta`` (any shape, flattened).

    Returns
    -------
    dict
        ``n``, ``mean``, ``q50``/``q90``/``q99`` (quantiles), ``max``, ``above_threshold`` (the share
        >= 1, i.e. an error of at least theta) and, with ``bound`` (in units of theta), ``above_bound``
        (the share > bound). For ``n = 0`` every statistic is None.
    """
    e = np.asarray(errors, dtype=np.float64).ravel()
    out = {"n": int(e.size)}
    if e.size == 0:
        out.update({"mean": None, **{f"q{round(100 * q)}": None for q in ERROR_QUANTILES}, "max": None,
                    "above_threshold": None})
        if bound is not None:
            out["above_bound"] = None
        return out
    if not np.all(np.isfinite(e)):
        raise ValueError("errors must be finite")
    qs = np.quantile(e, ERROR_QUANTILES)
    out.update({"mean": float(e.mean()), **{f"q{round(100 * q)}": float(v) for q, v in zip(ERROR_QUANTILES, qs)},
                "max": float(e.max()), "above_threshold": float(np.mean(e >= 1.0))})
    if bound is not None:
        out["above_bound"] = float(np.mean(e > bound))
    return out


def network_error_statistics(records, resets=RESETS) -> dict:
    """Per recorded layer, the distribution of ``||theta S - I|| / theta`` for each reset on the layer's own
    currents and membrane, and the check of :func:`membrane_bound` where it applies.

    Returns
    -------
    dict
        ``{layer name: {"neurons", "nonnegative" (share of neurons with I >= 0 at every step),
        "bound" (membrane_bound / theta for the layer's bits, uniform quantizer; None for tanh),
        "errors": {reset: error_summary over all neurons},
        "mod_nonnegative": error_summary of reset-to-mod on the non-negative neurons, with the bound}}``,
        plus ``"all"``: the same pooled over the layers (``bound``: the largest).
    """
    resets = tuple(check_reset(r) for r in resets)
    out, pooled, pooled_mod, bounds, nonneg_total, total = {}, {r: [] for r in resets}, [], [], 0, 0
    for r in records:
        errs = quantization_errors(r.currents, r.decay, r.threshold, resets, r.bits, r.scale, r.quantizer)
        nonneg = nonnegative_neurons(r.currents)
        bound = None
        if r.quantizer == "uniform":
            bound = membrane_bound(r.bits, r.decay, r.threshold, r.scale, steps=r.currents.shape[0]) / r.threshold
            bounds.append(bound)
        mod = errs["mod"] if "mod" in errs else quantization_errors(
            r.currents, r.decay, r.threshold, ("mod",), r.bits, r.scale, r.quantizer)["mod"]
        out[r.name] = {"neurons": int(nonneg.size), "nonnegative": float(nonneg.mean()) if nonneg.size else None,
                       "bound": bound, "errors": {k: error_summary(v) for k, v in errs.items()},
                       "mod_nonnegative": error_summary(mod[nonneg], bound)}
        for k, v in errs.items():
            pooled[k].append(v.ravel())
        pooled_mod.append(mod[nonneg])
        nonneg_total += int(nonneg.sum())
        total += int(nonneg.size)
    bound = max(bounds) if bounds else None
    out["all"] = {"neurons": total, "nonnegative": nonneg_total / total if total else None, "bound": bound,
                  "errors": {k: error_summary(np.concatenate(v)) for k, v in pooled.items()},
                  "mod_nonnegative": error_summary(np.concatenate(pooled_mod) if pooled_mod else [], bound)}
    return out


def error_statistics_text(stats: dict, resets=RESETS) -> str:
    """A printed table of :func:`network_error_statistics`: per layer the share of non-negative neurons, the
    median and the largest error per reset, and reset-to-mod's largest on the non-negative neurons against
    the bound (all in units of theta)."""
    head = f"{'layer':<16} {'I >= 0':>7} " + " ".join(f"{r + ' q50/max':>17}" for r in resets)
    lines = [head + f" {'mod, I >= 0: max / bound':>26}"]
    for name, st in stats.items():
        cells = " ".join(f"{st['errors'][r]['q50']:>8.3f}/{st['errors'][r]['max']:<8.3f}" for r in resets)
        m = st["mod_nonnegative"]
        bound = "n/a (tanh)" if st["bound"] is None else f"{st['bound']:.4f}"
        mod = "no neuron" if m["n"] == 0 else f"{m['max']:.4f} / {bound}"
        share = "" if st["nonnegative"] is None else f"{st['nonnegative']:.3f}"
        lines.append(f"{name:<16} {share:>7} {cells} {mod:>26}")
    return "\n".join(lines)


def spike_costs(model: torch.nn.Module, records) -> list[dict]:
    """What the spikes of each recorded LIF layer cost downstream, per input sample.

    A layer with reset "mod" emits integer counts, so a spike value needs ``bits_per_value =
    ceil(log2(max_count + 1))`` bits instead of one. An event-driven layer adds a weight once per unit of
    count for every synapse it feeds: ``accumulates = events * fan_out``, with ``fan_out`` the output
    channels times the kernel area of the next convolution (or the outputs of the readout), borders
    ignored; pooling between does not change the number of outputs a spike reaches.

    Parameters
    ----------
    model : torch.nn.Module
        A chain in which every LIF feeds the next weight layer (VGG-style :class:`qsnn.models.SpikingModel`:
        one convolution or linear layer more than LIF layers, in module order).
    records : list of LayerCurrents
        :func:`layer_currents` of this model.

    Returns
    -------
    list of dict, one per layer
        ``name``, ``values`` (spike values per sample: T times the neurons), ``events`` (sum of the counts
        per sample), ``active`` (share of non-zero values), ``max_count``, ``bits_per_value``,
        ``spike_bits`` (values times bits_per_value, per sample), ``fan_out``, ``accumulates`` (per sample).

    Raises
    ------
    ValueError
        If the model is not such a chain (e.g. a ResNet, whose shortcuts fan a layer out twice) or the
        records are not those of its LIF layers.
    """
    weights = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    lifs = [name for name, m in model.named_modules() if isinstance(m, LIF)]
    if len(weights) != len(lifs) + 1:
        raise ValueError(f"spike_costs needs a chain of weight layers and LIF layers (one weight layer more); "
                         f"{type(model).__name__} has {len(weights)} weight layers and {len(lifs)} LIF layers")
    if [r.name for r in records] != lifs:
        raise ValueError("records must be layer_currents(model, x) of this model, every LIF layer in order")
    out = []
    for r, consumer in zip(records, weights[1:]):
        s = r.spikes.double()
        batch = s.shape[1]
        counts = s.reshape(-1)
        max_count = float(counts.max()) if counts.numel() else 0.0
        if isinstance(consumer, torch.nn.Conv2d):
            fan_out = consumer.out_channels * consumer.kernel_size[0] * consumer.kernel_size[1]
        else:
            fan_out = consumer.out_features
        bits = max(1, math.ceil(math.log2(max_count + 1)))  # a silent layer still sends 1-bit values
        values = counts.numel() / batch
        events = float(counts.sum()) / batch
        out.append({"name": r.name, "values": values, "events": events,
                    "active": float((counts != 0).double().mean()) if counts.numel() else 0.0,
                    "max_count": max_count, "bits_per_value": bits, "spike_bits": values * bits,
                    "fan_out": fan_out, "accumulates": events * fan_out})
    return out
