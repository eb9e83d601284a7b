"""Argument checks of the binary layers and the spike-rate regulariser: one clear message per mistake."""

import math

import pytest
import torch

from qsnn.nn.layers import BinaryConv2d, BinaryLinear
from qsnn.nn.regularizers import spike_rate_loss


@pytest.mark.parametrize("layer", [lambda **k: BinaryConv2d(2, 3, 3, **k), lambda **k: BinaryLinear(4, 2, **k)])
@pytest.mark.parametrize("kwargs, message", [
    (dict(weight_regulation=1), "weight_regulation must be true .*\"scale\".* or false .*got 1$"),
    (dict(weight_regulation="yes"), "weight_regulation must be true .*got 'yes'"),
    (dict(weight_regulation="Scale"), "weight_regulation must be true .*got 'Scale'"),
    (dict(estimator="bnn"), r"estimator must be one of \('ede', 'ste'\), got 'bnn'"),
    (dict(estimator=None), "estimator must be one of .*got None"),
])
def test_binary_layers_name_the_bad_option(layer, kwargs, message):
    """A non-boolean weight regulation or an unknown sign estimator raises ValueError naming both."""
    with pytest.raises(ValueError, match=message):
        layer(**kwargs)


def test_binary_layers_keep_valid_options():
    """Valid options are stored as given."""
    m = BinaryLinear(4, 2, weight_regulation=False, estimator="ste")
    assert (m.weight_regulation, m.estimator) == (False, "ste")
    assert BinaryConv2d(2, 3, 3, weight_regulation="scale").weight_regulation == "scale"


@pytest.mark.parametrize("target", [-0.1, 1.5, math.nan, math.inf, True, "0.5", None])
def test_spike_rate_target_must_be_a_rate(target):
    """The target rate is a real number in [0, 1]; the message says so and shows the value."""
    with pytest.raises(ValueError, match=r"target must be a (finite )?real number.*got"):
        spike_rate_loss([torch.tensor(0.2)] * 3, target=target)


def test_spike_rate_loss_by_hand():
    """Three layers, the middle one kept: (0.3 - 0.5)^2; an integer target 0 or 1 is accepted."""
    rates = [torch.tensor(0.9), torch.tensor(0.3), torch.tensor(0.1)]
    assert spike_rate_loss(rates).item() == pytest.approx(0.04)
    assert spike_rate_loss(rates, target=1, exclude_first_last=False).item() == pytest.approx((0.01 + 0.49 + 0.81) / 3)
