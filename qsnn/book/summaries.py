"""What chapters 1 and 2 write to their results files: the numbers of their checks of Part I, keyed by leak rate.

The checks are those of Moser & Lunglmayr, "Quantization in Spiking Neural Networks" (arXiv:2305.08012), on the
leaky Alexiewicz norm (chapter 1) and on the LIF neuron as a quantizer (chapter 2, Theorem 1 and its
corollaries), computed by :mod:`qsnn.spiketrains.theorem_checks`. Plain Python and NumPy, no torch.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

__all__ = ["alpha_key", "norm_results", "quantizer_results"]


def alpha_key(alpha: float) -> str:
    """A leak rate as a results key: ``"inf"`` for infinity, else its ``repr`` (``"0.1"``)."""
    return "inf" if math.isinf(alpha) else repr(alpha)


def norm_results(alphas: Sequence[float], *, reference_diff: Mapping, limits: Mapping, bounds: Mapping,
                 discrepancy, invariance: Mapping, ball: Mapping) -> dict:
    """The numerical checks of chapter 1, per leak rate: the largest difference of the fast norm from the
    definition (``reference_diff[alpha]``), the limits ``alpha = 0`` and ``inf``
    (:func:`qsnn.spiketrains.theorem_checks.limit_differences`), the smallest ratios of the norm bounds
    (:func:`~qsnn.spiketrains.theorem_checks.norm_bounds` per ``alpha``), the range of the discrepancy norm over the
    Alexiewicz norm (``discrepancy``, the ratios), the largest change under a time shift or rescaling
    (:func:`~qsnn.spiketrains.theorem_checks.invariance_diffs` per ``alpha``) and the number of trains where
    silence and the sub-threshold ball disagree (``ball[(alpha, reset)]``)."""
    return {
        "alphas": [alpha_key(a) for a in alphas],
        "max_abs_fast_vs_definition": {alpha_key(a): reference_diff[a] for a in alphas},
        "limit_alpha0_max_diff": limits["alpha0"],
        "limit_alpha_inf_max_diff": limits["alpha_inf"],
        "min_norm_over_max_amp": {alpha_key(a): bounds[a]["min_norm_over_max_amp"] for a in alphas},
        "min_sum_amp_over_norm": {alpha_key(a): bounds[a]["min_sum_over_norm"] for a in alphas},
        "discrepancy_over_alexiewicz_range": [np.min(discrepancy), np.max(discrepancy)],
        "invariance_max_diff": {alpha_key(a): max(invariance[a].values()) for a in alphas},
        "subthreshold_ball_mismatches": int(sum(ball.values())),
    }


def quantizer_results(amplitudes: Sequence[float], alphas: Sequence[float], *, max_error: Mapping,
                      violations: Mapping) -> dict:
    """The checks of chapter 2 keyed for a results file: the largest error over ``theta`` per amplitude range
    and leak rate and reset (``max_error[(c, alpha)]`` of
    :func:`qsnn.spiketrains.theorem_checks.max_error_grid`, keyed ``amp<c>_alpha<alpha>``), the largest
    reset-to-mod error over all of them (below 1 by Theorem 1), and the quasi-isometry's violations per leak
    rate (``violations[alpha]``)."""
    return {
        "max_error_over_theta": {f"amp{c}_alpha{alpha_key(a)}": max_error[(c, a)] for c in amplitudes for a in alphas},
        "max_mod_error_over_theta": max(e["mod"] for e in max_error.values()),
        "quasi_isometry_violations": {alpha_key(a): v for a, v in violations.items()},
    }
