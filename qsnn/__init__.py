"""qsnn: the executable companion to two papers on quantization in spiking neural networks.

Part I (Moser & Lunglmayr, arXiv:2305.08012): spike trains, the leaky Alexiewicz norm and the LIF
neuron as a quantizer of spike trains. Part II (Wei et al., Q-SNNs, doi:10.1145/3664647.3681186):
spiking networks with 1-bit weights, low-bit membrane potentials and Weight-Spike Dual Regulation,
in ``qsnn.nn``, ``qsnn.models`` and ``qsnn.train``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
