"""Tests of qsnn.book.summaries: the results-file entries of chapters 1 and 2, keyed by leak rate, by hand."""

import math

import numpy as np
import pytest

from qsnn.book import summaries


def test_alpha_key():
    assert [summaries.alpha_key(a) for a in (0.0, 0.1, math.inf)] == ["0.0", "0.1", "inf"]


def test_norm_results_by_hand():
    alphas = [0.0, math.inf]
    out = summaries.norm_results(
        alphas, reference_diff={0.0: 1e-15, math.inf: 0.0}, limits={"alpha0": 0.0, "alpha_inf": 0.0, "alpha_large": 0.0},
        bounds={a: {"min_norm_over_max_amp": 0.7, "min_sum_over_norm": 1.3} for a in alphas},
        discrepancy=np.array([1.5, 1.0, 2.0]), invariance={a: {"max_shift_diff": 1e-14, "max_scale_diff": 3e-14}
                                                           for a in alphas},
        ball={(0.0, "mod"): 0, (math.inf, "zero"): 2})
    assert out["alphas"] == ["0.0", "inf"] and out["max_abs_fast_vs_definition"] == {"0.0": 1e-15, "inf": 0.0}
    assert out["discrepancy_over_alexiewicz_range"] == [1.0, 2.0]
    assert out["invariance_max_diff"]["inf"] == 3e-14 and out["subthreshold_ball_mismatches"] == 2
    assert out["min_sum_amp_over_norm"] == {"0.0": 1.3, "inf": 1.3}


def test_quantizer_results_by_hand():
    max_error = {(1.0, 0.0): {"mod": 0.9, "zero": 2.0}, (1.0, math.inf): {"mod": 0.99, "zero": 1.0}}
    out = summaries.quantizer_results([1.0], [0.0, math.inf], max_error=max_error, violations={0.0: 0, math.inf: 1})
    assert out["max_error_over_theta"] == {"amp1.0_alpha0.0": max_error[(1.0, 0.0)],
                                           "amp1.0_alpha" + "inf": max_error[(1.0, math.inf)]}
    assert out["max_mod_error_over_theta"] == pytest.approx(0.99)
    assert out["quasi_isometry_violations"] == {"0.0": 0, "inf": 1}
