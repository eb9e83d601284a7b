"""qsnn: the executable companion to two papers on quantization in spiking neural networks.

Part I (Moser & Lunglmayr, arXiv:2305.08012): spike trains, the leaky Alexiewicz norm and the LIF
neuron as a quantizer of spike trains. Part II (Wei et al., Q-SNNs, doi:10.1145/3664647.3681186):
spiking networks with 1-bit weights, low-bit membrane potentials and Weight-Spike Dual Regulation,
in ``qsnn.nn``, ``qsnn.models`` and ``qsnn.train``.
"""

__version__ = "0.1.0"

from .alexiewicz import (
    alexiewicz_norm,
    alexiewicz_norm_batch,
    alexiewicz_norm_reference,
    discrepancy_norm,
    leaky_partial_sums,
)
from .quantizer import (
    FIRING_RTOL,
    RESETS,
    LIFTrace,
    lif,
    lif_batch,
    lif_reference,
    lif_trace,
    quantization_error,
    quantization_error_batch,
)
from .spikes import SpikeTrain, random_trains

__all__ = [
    "__version__",
    # Part I: spike trains, the leaky Alexiewicz norm, the LIF quantizer
    "SpikeTrain",
    "random_trains",
    "alexiewicz_norm",
    "alexiewicz_norm_batch",
    "alexiewicz_norm_reference",
    "discrepancy_norm",
    "leaky_partial_sums",
    "RESETS",
    "FIRING_RTOL",
    "LIFTrace",
    "lif",
    "lif_batch",
    "lif_reference",
    "lif_trace",
    "quantization_error",
    "quantization_error_batch",
]
