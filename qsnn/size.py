"""Model size and membrane memory of Q-SNNs by the convention of Wei et al. (Q-SNNs, ACM MM 2024: the
model-size column of its result tables).

Model size = (binary weights x 1 bit + every other parameter x 32 bit) / 8 bytes, in MB = 10^6
bytes. "Every other parameter" is the first conv's and the last linear layer's weights and bias
and the BatchNorm gamma and beta: the convention counts the 8-bit first/last layers at 32 bit.
Buffers (BatchNorm running statistics), the per-filter power-of-two scales (recomputed from the
weights) and membrane potentials (runtime state) are not counted. A full-precision model (no
binary layers) counts everything at 32 bit. Check: VGG-11 on CIFAR-10 36.91 MB -> 1.20 MB, on
CIFAR-100 37.10 MB -> 1.39 MB (the paper's tables).

Membrane state memory (:func:`membrane_state_bytes`) is separate: one potential per LIF neuron,
per sample, b bits each.
"""

from __future__ import annotations

from typing import Sequence

from ._core.extras import require_extra

require_extra("torch", "qsnn.size", modules=("torch",))  # a message naming the extra, not a bare ModuleNotFoundError

import torch
from torch import nn

from ._core.validation import check_choice, check_int
from .nn import LIF, QuantConv2d, QuantLinear
from .nn.layers import _BinaryMixin

__all__ = ["COUNTINGS", "parameter_bits", "model_size", "lif_neurons", "membrane_state_bytes"]

COUNTINGS = ("convention", "actual")
MB = 10**6


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}; build one with "
                         "qsnn.models.build")


def _check_shape(input_shape) -> tuple[int, ...]:
    """One sample's shape (C, H, W): a non-empty sequence of integers >= 1."""
    what = "input_shape must be a sequence of integers >= 1 such as (C, H, W)"
    if isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__iter__") or not len(input_shape):
        raise ValueError(f"{what}, got {input_shape!r}")
    try:
        return tuple(check_int(f"input_shape[{i}]", v, min=1) for i, v in enumerate(input_shape))
    except ValueError as exc:
        raise ValueError(f"{what}, got {input_shape!r} ({exc})") from None


def parameter_bits(model: nn.Module, counting: str = "convention") -> dict[str, int]:
    """Bits charged to every parameter of ``model`` (name -> bits), see :func:`model_size`."""
    check_choice("counting", counting, COUNTINGS)
    _check_model(model)
    out = {}
    for mname, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            bits = 32
            if pname == "weight" and isinstance(module, _BinaryMixin):
                bits = 1
            elif pname == "weight" and counting == "actual" and isinstance(module, (QuantConv2d, QuantLinear)):
                bits = module.bits
            out[f"{mname}.{pname}" if mname else pname] = p.numel() * bits
    return out


def model_size(model: nn.Module, counting: str = "convention") -> float:
    """Size of ``model`` in MB (10^6 bytes) by the Q-SNN convention (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
    counting : {"convention", "actual"}
        ``"convention"``: binary weights 1 bit, every other parameter 32 bit (the lab's tables).
        ``"actual"``: the same, but fake-quantized (8-bit) weights at their bit width.

    Returns
    -------
    float
        MB; round to 2 decimals to compare with the papers (VGG-11, CIFAR-10: 1.20).

    Raises
    ------
    ValueError
        Unknown counting or not a module.
    """
    return sum(parameter_bits(model, counting).values()) / 8 / MB


def _lif_calls(model: nn.Module, input_shape: Sequence[int]) -> list[tuple[LIF, int]]:
    """(LIF module, neurons per sample) for every LIF call of one step of one all-zero sample."""
    _check_model(model)
    shape = _check_shape(input_shape)
    calls: list[tuple[LIF, int]] = []

    def hook(m, _inp, out):
        calls.append((m, int(out[0, 0].numel())))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, LIF)]
    was_training = model.training
    try:
        p = next(model.parameters(), None)
        x = torch.zeros((1, 1, *shape), device=None if p is None else p.device,
                        dtype=torch.float32 if p is None else p.dtype)
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return calls


def lif_neurons(model: nn.Module, input_shape: Sequence[int]) -> list[int]:
    """Number of neurons (state entries per sample) of every LIF layer, in call order.

    Runs one time step of one all-zero sample of shape ``input_shape`` = (C, H, W) through the
    model (no gradient, eval mode, the mode restored afterwards).

    Raises
    ------
    ValueError
        If ``input_shape`` is not a sequence of positive integers.
    """
    return [n for _, n in _lif_calls(model, input_shape)]


def membrane_state_bytes(model: nn.Module, input_shape: Sequence[int], bits: int | None = None) -> float:
    """Membrane-potential memory of one sample in bytes: sum over LIF layers of neurons x bits / 8.

    Parameters
    ----------
    model : torch.nn.Module
    input_shape : sequence of int
        One sample's shape, (C, H, W).
    bits : int or None
        Bits per potential for every layer (32: full precision); None: each layer's own
        ``membrane_bits`` (32 where it is None).

    Returns
    -------
    float
        Bytes per sample (one time step's state; the state is overwritten every step).

    Raises
    ------
    ValueError
        If bits is not None or an integer >= 1, or input_shape is invalid.
    """
    if bits is not None:
        bits = check_int("bits", bits, min=1)
    return sum(
        n * (bits if bits is not None else (m.membrane_bits or 32)) / 8
        for m, n in _lif_calls(model, input_shape)
    )
