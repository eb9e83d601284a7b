"""qsnn: the executable companion to two papers on quantization in spiking neural networks.

Part I (Moser & Lunglmayr, arXiv:2305.08012): spike trains, the leaky Alexiewicz norm and the LIF
neuron as a quantizer of spike trains. Part II (Wei et al., Q-SNNs, doi:10.1145/3664647.3681186):
spiking networks with 1-bit weights, low-bit membrane potentials and Weight-Spike Dual Regulation,
in ``qsnn.nn``, ``qsnn.models`` and ``qsnn.train``.

``import qsnn`` loads only what Part I's numerics need (numpy and the numba kernels); sympy loads with
``qsnn.symbolic`` and PyTorch with the Part II names, on first use.
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
from .sweeps import ErrorSweep, concentration, error_sweep, spike_count_grid, sweep_seed, sweep_trains

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
    # Part I: the Monte-Carlo sweeps of Figs. 4/5
    "ErrorSweep",
    "error_sweep",
    "concentration",
    "spike_count_grid",
    "sweep_trains",
    "sweep_seed",
]

# Loaded on first use: sympy (symbolic) and PyTorch (Part II), so Part I and the pipeline import neither.
_LAZY_MODULES = ("symbolic", "nn", "models", "size", "train", "data", "checkpoint", "bridge")
_LAZY_NAMES = {"model_size": "size", "membrane_state_bytes": "size", "TrainConfig": "train", "fit": "train"}
__all__ += ["model_size", "membrane_state_bytes", "TrainConfig", "fit"]


def __getattr__(name):
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'qsnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))
