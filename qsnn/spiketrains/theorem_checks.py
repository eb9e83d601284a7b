"""Numerical checks of Part I's statements on batches of random spike trains, as numbers a chapter prints.

Each function measures how far a property is from holding over many trains (a largest excess, a largest
difference, a count of violations) and returns it; the chapter asserts the property and explains it. The
statements are those of Moser & Lunglmayr, "Quantization in Spiking Neural Networks" (arXiv:2305.08012):
the norm axioms and invariances of the leaky Alexiewicz norm (Sec. II), the error bound of Theorem 1 and the
quasi-isometry of Theorem 2 (Sec. III). Trains are given as ``times, amplitudes`` arrays ``[trains, spikes]``
as :func:`qsnn.random_trains` returns them.
"""

from __future__ import annotations

import time

import numpy as np

from .._core.resets import RESET_LABELS
from .alexiewicz import alexiewicz_norm, alexiewicz_norm_batch, alexiewicz_norm_reference, discrepancy_norm
from .lif_quantizer import FIRING_RTOL, RESETS, lif, lif_batch, lif_trace, quantization_error, quantization_error_batch
from .spikes import SpikeTrain, random_trains

__all__ = ["norm_axioms", "invariance_diffs", "timing_against_definition", "timing_by_length", "max_error_grid",
           "fused_against_explicit", "quasi_isometry_distances", "threshold_change_violations", "norm_bounds",
           "reference_difference", "subthreshold_ball", "max_error_markdown", "truncate4",
           "limit_differences", "discrepancy_ratios", "lower_bound_ratios", "sphere_firing", "counterexamples",
           "zero_reset_growth", "golden_table", "quasi_isometry_pairs"]


def norm_axioms(times, amps, times2, amps2, alpha: float, rng) -> dict:
    """Triangle inequality, absolute homogeneity and positivity of ``||.||_{A,alpha}`` on pairs of trains.

    Pair ``j`` is train ``j`` of ``(times, amps)`` and of ``(times2, amps2)``; each pair draws one scale
    ``c`` uniform in ``[-3, 3]`` from ``rng``. Returns ``max_triangle_excess`` (largest
    ``||x+y|| - ||x|| - ||y||``, <= 0 when the inequality holds), ``max_scaling_error`` (largest
    ``| ||c x|| - |c| ||x|| |``) and ``min_norm`` (smallest ``||x||``).
    """
    worst_triangle = worst_scale = 0.0
    min_norm = np.inf
    for j in range(len(times2)):
        x = SpikeTrain(times[j], amps[j])
        y = SpikeTrain(times2[j], amps2[j])
        nx, ny = alexiewicz_norm(x, alpha), alexiewicz_norm(y, alpha)
        worst_triangle = max(worst_triangle, alexiewicz_norm(x + y, alpha) - (nx + ny))
        c = rng.uniform(-3, 3)
        worst_scale = max(worst_scale, abs(alexiewicz_norm(c * x, alpha) - abs(c) * nx))
        min_norm = min(min_norm, nx)
    return dict(max_triangle_excess=worst_triangle, max_scaling_error=worst_scale, min_norm=min_norm)


def invariance_diffs(times, amps, alpha: float, rng, n_scaled: int = 2000) -> dict:
    """Largest change of the norm under a time shift and under a time rescaling with ``alpha / scale``.

    Every train is shifted by a uniform draw in ``[-100, 100]`` and (the first ``n_scaled``) rescaled by a
    uniform draw in ``[0.1, 10]``, both from ``rng``. Returns ``max_shift_diff`` and ``max_scale_diff``.
    """
    n = len(times)
    base = alexiewicz_norm_batch(times, amps, alpha)
    shift = rng.uniform(-100, 100, size=(n, 1))
    scale = rng.uniform(0.1, 10, size=(n, 1))
    shifted = alexiewicz_norm_batch(times + shift, amps, alpha)
    scaled = np.array([alexiewicz_norm(SpikeTrain(scale[j, 0] * times[j], amps[j]), alpha / scale[j, 0])
                       for j in range(min(n, n_scaled))])
    return dict(max_shift_diff=np.abs(shifted - base).max(), max_scale_diff=np.abs(scaled - base[:len(scaled)]).max())


def timing_against_definition(times, amps, alpha: float = 1.0) -> tuple[float, float]:
    """Seconds for the batched recursion and for the ``O(N^2)`` definition on the same trains.

    The batched call runs once before timing, so compilation and cold caches do not count.
    """
    alexiewicz_norm_batch(times, amps, alpha)
    t0 = time.perf_counter()
    alexiewicz_norm_batch(times, amps, alpha)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    for j in range(len(times)):
        alexiewicz_norm_reference(SpikeTrain(times[j], amps[j]), alpha)
    return t_fast, time.perf_counter() - t0


def timing_by_length(lengths, n_trains: int, *, amplitude: float = 1.0, gap=(0.2, 1.0), seed: int = 0,
                     alpha: float = 1.0) -> dict:
    """:func:`timing_against_definition` on ``n_trains`` random trains (:func:`qsnn.random_trains`) of each length:
    ``{N: (seconds of the batched recursion, seconds of the definition)}``."""
    out = {}
    for n in lengths:
        times, amps = random_trains(n_trains, n, amplitude=amplitude, gap=tuple(gap), seed=seed)
        out[n] = timing_against_definition(times, amps, alpha)
    return out


def max_error_grid(batches, alphas, theta: float, resets=RESETS) -> dict:
    """Theorem 1 over a grid: the largest quantization error ``/ theta`` per amplitude range, ``alpha`` and reset.

    ``batches`` maps an amplitude range ``c`` to its trains ``(times, amps)``. Returns
    ``errors[(c, alpha)][reset]``, the largest ``||LIF(x) - x||_{A,alpha} / theta`` over the batch.
    """
    return {(c, alpha): {reset: quantization_error_batch(times, amps, theta, alpha, reset).max() / theta
                         for reset in resets}
            for c, (times, amps) in batches.items() for alpha in alphas}


def fused_against_explicit(times, amps, theta: float, alphas) -> tuple[float, int]:
    """The fused error kernel against ``||LIF(x) - x||`` built from explicit trains, and the identity
    ``Delta_k = u_post_k`` (reset-to-mod and reset-by-subtraction) on every trace.

    Returns the largest absolute difference and the number of traces where the identity fails.
    """
    largest, violations = 0.0, 0
    for alpha in alphas:
        fused = {r: quantization_error_batch(times, amps, theta, alpha, r) for r in RESETS}
        for j in range(len(times)):
            x = SpikeTrain(times[j], amps[j])
            for reset in RESETS:
                explicit = alexiewicz_norm(lif(x, theta, alpha, reset) - x, alpha)
                largest = max(largest, abs(explicit - fused[reset][j]))
            for reset in ("mod", "subtract"):
                tr = lif_trace(x, theta, alpha, reset)
                violations += int(not np.array_equal(tr.error_partial_sums, tr.u_post))
    return largest, violations


def quasi_isometry_distances(t1, a1, a_pert, t2, a2, theta: float, alpha: float):
    """Input and output distances ``||x - y||`` and ``||LIF(x) - LIF(y)||`` (reset-to-mod) for pairs of trains.

    The first ``len(a_pert)`` pairs are train ``j`` of ``(t1, a1)`` and its perturbed amplitudes
    ``a_pert[j]`` on the same times; the remaining pairs are trains ``len(a_pert) + j`` of ``(t1, a1)`` and
    train ``j`` of ``(t2, a2)``, whose times differ (the difference merges both sets of times).
    Returns ``(d_in, d_out)``, perturbed pairs first.
    """
    half = len(a_pert)
    d_in_p = alexiewicz_norm_batch(t1[:half], a1[:half] - a_pert, alpha)
    d_out_p = alexiewicz_norm_batch(t1[:half], lif_batch(t1[:half], a1[:half], theta, alpha, "mod")
                                    - lif_batch(t1[:half], a_pert, theta, alpha, "mod"), alpha)
    d_in_i, d_out_i = [], []
    for j in range(len(t2)):
        x = SpikeTrain(t1[half + j], a1[half + j])
        y = SpikeTrain(t2[j], a2[j])
        d_in_i.append(alexiewicz_norm(x - y, alpha))
        d_out_i.append(alexiewicz_norm(lif(x, theta, alpha, "mod") - lif(y, theta, alpha, "mod"), alpha))
    return np.concatenate([d_in_p, d_in_i]), np.concatenate([d_out_p, d_out_i])


def threshold_change_violations(times, amps, theta: float, alphas, d_theta) -> tuple[int, float]:
    """Raising the threshold by ``d`` moves the reset-to-mod output by less than ``2 theta + d``.

    ``d_theta`` are the changes tried (rounded to one decimal, each distinct value once). Returns the number
    of trains at distance ``>= 2 theta + d`` and the largest ``distance / (2 theta + d)``.
    """
    violations, worst = 0, 0.0
    for alpha in alphas:
        b0 = lif_batch(times, amps, theta, alpha, "mod")
        for d in np.unique(np.round(d_theta, 1)):
            b1 = lif_batch(times, amps, theta + d, alpha, "mod")
            dist = alexiewicz_norm_batch(times, b1 - b0, alpha)
            violations += int(np.sum(dist >= 2 * theta + d))
            worst = max(worst, dist.max() / (2 * theta + d))
    return violations, worst


def norm_bounds(times, amps, alpha: float) -> dict:
    """The two bounds between the norm and the amplitudes: ``||eta|| / max|a_i|`` (at least 1/2) and
    ``sum|a_i| / ||eta||`` (at least 1); returns the smallest value of each over the trains."""
    norms = alexiewicz_norm_batch(times, amps, alpha)
    return dict(min_norm_over_max_amp=(norms / np.abs(amps).max(axis=1)).min(),
                min_sum_over_norm=(np.abs(amps).sum(axis=1) / norms).min())


def reference_difference(times, amps, alpha: float) -> float:
    """Largest difference between the batched recursion and the ``O(N^2)`` definition of the norm."""
    fast = alexiewicz_norm_batch(times, amps, alpha)
    slow = np.array([alexiewicz_norm_reference(SpikeTrain(times[j], amps[j]), alpha) for j in range(len(times))])
    return float(np.abs(fast - slow).max())


def subthreshold_ball(times, amps, theta: float, alpha: float, rng, resets=RESETS):
    """A neuron stays silent exactly on the trains inside the ball ``||eta||_{A,alpha} < theta``.

    Every train is rescaled to a norm drawn uniformly in ``[theta / 2, 3 theta / 2]`` (from ``rng``). Returns
    ``(inside, on_sphere, mismatches)``: the number of rescaled trains inside the ball, the number whose norm
    is within :data:`qsnn.FIRING_RTOL` of ``theta`` (where rounding decides), and per reset the number of
    trains where "silent" and "inside" disagree.
    """
    norms = alexiewicz_norm_batch(times, amps, alpha)
    target = rng.uniform(0.5 * theta, 1.5 * theta, size=len(times))
    scaled = amps * (target / norms)[:, None]
    scaled_norms = alexiewicz_norm_batch(times, scaled, alpha)
    inside = scaled_norms < theta
    on_sphere = int(np.sum(np.abs(scaled_norms - theta) <= FIRING_RTOL * theta))
    mismatches = {}
    for reset in resets:
        silent = ~np.any(lif_batch(times, scaled, theta, alpha, reset) != 0, axis=1)
        mismatches[reset] = int(np.sum(silent != inside))
    return int(inside.sum()), on_sphere, mismatches


def max_error_markdown(max_error, resets=("mod", "subtract", "zero")) -> str:
    """The grid of :func:`max_error_grid` as a Markdown table, errors truncated (not rounded) to four decimals
    so that an error just below the bound never prints as the bound."""
    rows = ["| amplitudes | $\\alpha$ | " + " | ".join(RESET_LABELS[r] for r in resets) + " |",
            "| --- | --- | " + " | ".join("---" for _ in resets) + " |"]
    for (c, alpha), errs in max_error.items():
        a = "inf" if np.isinf(alpha) else repr(alpha)
        rows.append(f"| $\\pm{c}\\vartheta$ | {a} | " + " | ".join(truncate4(errs[r]) for r in resets) + " |")
    return "\n".join(rows)


def truncate4(x: float) -> str:
    """``x`` truncated towards minus infinity at four decimals: 0.99999 prints 0.9999, not 1.0000."""
    return f"{np.floor(x * 1e4) / 1e4:.4f}"


def limit_differences(times, amps, large_alpha: float = 200.0) -> dict:
    """The limits of the norm in ``alpha``: at ``alpha = 0`` it is the classical Alexiewicz norm
    ``max_k |a_1 + ... + a_k|``, at ``alpha = inf`` (and nearly at ``large_alpha``) the largest ``|a_i|``.
    Returns the largest deviation over the trains for ``0``, ``inf`` and ``large_alpha``."""
    classical = np.abs(np.cumsum(amps, axis=1)).max(axis=1)
    largest = np.abs(amps).max(axis=1)
    return {"alpha0": np.abs(alexiewicz_norm_batch(times, amps, 0.0) - classical).max(),
            "alpha_inf": np.abs(alexiewicz_norm_batch(times, amps, np.inf) - largest).max(),
            "alpha_large": np.abs(alexiewicz_norm_batch(times, amps, large_alpha) - largest).max()}


def discrepancy_ratios(times, amps) -> np.ndarray:
    """``||x||_D / ||x||_{A,0}`` per train: Weyl's discrepancy norm over the Alexiewicz norm without leak
    (between 1 and 2)."""
    trains = [SpikeTrain(times[j], amps[j]) for j in range(len(times))]
    return np.array([discrepancy_norm(x) / alexiewicz_norm(x, 0.0) for x in trains])


def lower_bound_ratios(alpha: float, gaps) -> dict:
    """How close two spikes come to the lower bound ``||eta|| >= max|a_i| / 2``: per gap ``tau``,
    ``||eta||_{A,alpha} / max|a_i|`` of ``eta = delta(t) - (1 + d) delta(t - tau)``, ``d = exp(-alpha tau)``, which
    is ``1 / (1 + d)`` and tends to 1/2 as the gap shrinks."""
    out = {}
    for tau in gaps:
        d = np.exp(-alpha * tau)
        out[tau] = alexiewicz_norm(SpikeTrain([0.0, tau], [1.0, -(1.0 + d)]), alpha) / (1.0 + d)
    return out


def sphere_firing(train, theta: float, alpha: float, below: float = 1e-6, reset: str = "mod") -> tuple[bool, bool]:
    """Whether a LIF neuron fires on ``train`` rescaled to a norm of exactly ``theta`` and on it rescaled to
    ``(1 - below) theta``: the sub-threshold ball is open, so the first fires and the second does not."""
    on_sphere = train * (theta / alexiewicz_norm(train, alpha))
    fires = [bool(np.any(lif(x, theta, alpha, reset).amplitudes != 0)) for x in (on_sphere, on_sphere * (1 - below))]
    return fires[0], fires[1]


def counterexamples() -> dict:
    """The two minimal trains that break Theorem 1's bound for the single-spike resets (``theta = 1``,
    ``alpha = 0``), with reset-to-mod beside each: three spikes of 0.9 (reset-to-zero throws the remainder 0.8
    away: error 1.7) and one spike of 2.5 (reset-by-subtraction keeps 1.5: error 1.5; reset-to-mod 0.5)."""
    three = SpikeTrain([0.0, 1.0, 2.0], [0.9, 0.9, 0.9])
    single = SpikeTrain([0.0], [2.5])
    return {"zero_three_0.9_alpha0": quantization_error(three, 1.0, 0.0, "zero"),
            "mod_three_0.9_alpha0": quantization_error(three, 1.0, 0.0, "mod"),
            "subtract_single_2.5": quantization_error(single, 1.0, 0.0, "subtract"),
            "mod_single_2.5": quantization_error(single, 1.0, 0.0, "mod")}


def zero_reset_growth(lengths, amplitude: float = 0.9) -> dict:
    """Without leak the reset-to-zero error has no bound: per length ``n``, the errors ``(reset-to-zero,
    reset-to-mod)`` of ``n`` spikes of ``amplitude`` at ``t = 0, 1, ..., n - 1`` (``theta = 1``, ``alpha = 0``);
    the first grows linearly in ``n``, the second stays below 1."""
    out = {}
    for n in lengths:
        x = SpikeTrain(np.arange(n, dtype=float), np.full(n, amplitude))
        out[n] = (quantization_error(x, 1.0, 0.0, "zero"), quantization_error(x, 1.0, 0.0, "mod"))
    return out


def golden_table(train, rows, alpha_names=None, theta: float = 1.0):
    """A worked example recomputed: per ``(alpha, reset, outputs, error)`` of ``rows`` (computed by hand), the
    outputs of :func:`qsnn.lif_batch` in multiples of ``theta`` and the error
    (:func:`qsnn.quantization_error`).

    Returns ``(computed, markdown)``: ``computed[(alpha, reset)] = (outputs, error)`` and a Markdown table of the
    recomputed values beside the hand-computed error (``alpha_names`` maps an ``alpha`` to its name in the
    table; default its value).
    """
    lines = ["| $\\alpha$ | reset | outputs | error | by hand |", "| --- | --- | --- | --- | --- |"]
    computed = {}
    for alpha, reset, _, by_hand in rows:
        b = lif_batch(train.times[None], train.amplitudes[None], theta, alpha, reset)[0] / theta
        outputs, error = [int(v) for v in np.round(b)], quantization_error(train, theta, alpha, reset)
        computed[(alpha, reset)] = (outputs, error)
        name = (alpha_names or {}).get(alpha, f"{alpha:g}")
        lines.append(f"| {name} | {reset} | {', '.join(map(str, outputs))} | {error:.2f} | {by_hand} |")
    return computed, "\n".join(lines)


def quasi_isometry_pairs(n_pairs: int, n_spikes: int, amplitude: float, gap, seed: int, rng, theta: float = 1.0):
    """The pairs of trains of the quasi-isometry check: ``n_pairs`` random trains ``(t1, a1)`` (seed ``seed``), the
    first half of them perturbed (``a_pert``: amplitudes moved by up to ``eps theta``, ``eps`` log-uniform in
    ``[0.01, 3]``, drawn from ``rng``; same spike times), and ``n_pairs - n_pairs // 2`` independent trains
    ``(t2, a2)`` (seed ``seed + 1``) for the other half. Returns ``(t1, a1, a_pert, t2, a2)``."""
    half = n_pairs // 2
    t1, a1 = random_trains(n_pairs, n_spikes, amplitude=amplitude, gap=tuple(gap), seed=seed)
    t2, a2 = random_trains(n_pairs - half, n_spikes, amplitude=amplitude, gap=tuple(gap), seed=seed + 1)
    eps = np.exp(rng.uniform(np.log(0.01), np.log(3.0), size=(half, 1)))
    a_pert = a1[:half] + eps * rng.uniform(-1.0, 1.0, size=(half, n_spikes)) * theta
    return t1, a1, a_pert, t2, a2
