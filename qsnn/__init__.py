"""qsnn: the executable companion to two papers on quantization in spiking neural networks.

Part I (Moser & Lunglmayr, arXiv:2305.08012): spike trains, the leaky Alexiewicz norm and the LIF
neuron as a quantizer of spike trains. Part II (Wei et al., Q-SNNs, doi:10.1145/3664647.3681186):
spiking networks with 1-bit weights, low-bit membrane potentials and Weight-Spike Dual Regulation,
in ``qsnn.nn``, ``qsnn.models`` and ``qsnn.train``.

``import qsnn`` loads only what Part I's numerics need (numpy and the numba kernels); sympy loads with
``qsnn.symbolic`` and PyTorch with the Part II names, on first use.
"""

__version__ = "0.1.0"

from .spiketrains import *  # noqa: F403  (Part I's public names, listed in qsnn.spiketrains.__all__)
from .spiketrains import __all__ as _part1

__all__ = ["__version__", *_part1]

# Loaded on first use: sympy (symbolic) and PyTorch (Part II), so Part I and the pipeline import neither.
# Each public module of the package by its short name; ``qsnn.symbolic`` is Part I's sympy module.
_LAZY_MODULES = {"symbolic": "spiketrains.symbolic", **{name: name for name in (
    "spiketrains", "nn", "models", "size", "stats", "train", "data", "experiments", "checkpoint", "bridge", "deploy",
    "book")}}
_LAZY_NAMES = {"model_size": "size", "membrane_state_bytes": "size", "TrainConfig": "train", "fit": "train"}
__all__ += ["model_size", "membrane_state_bytes", "TrainConfig", "fit"]


def __getattr__(name):
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f".{_LAZY_MODULES[name]}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'qsnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))
