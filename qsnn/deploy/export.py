"""Export a trained Q-SNN (:func:`qsnn.models.build` with ``weight_bits=1``) to the packed file format.

What the file holds, per layer of the network (Wei et al., Q-SNNs, ACM MM 2024, Sec. 3: 1-bit hidden
weights, b-bit membranes; the first conv and the readout in 8 bits, as in the authors' code):

* binary convolutions: the sign of every weight as 1 bit (1 = +1), filter by filter in the order
  [k_y, k_x, C_in], and the per-filter power-of-two scale as its exponent (int8);
* the first convolution and the readout: the 8-bit integer weights and their one scale (float32),
  the readout's bias (float32);
* every BatchNorm folded into a per-channel gain and offset (float32): in eval mode
  ``bn(y) = y * gain + offset`` with ``gain = gamma / sqrt(var + eps)``, ``offset = beta - mean * gain``
  (the arithmetic of PyTorch's CPU inference kernel);
* the LIF options: decay, threshold, reset, membrane bit width and quantizer, and every LIF layer's
  quantizer scale (the threshold unless the layer sets or calibrates another).

Only what the engine (:mod:`qsnn.deploy.engine`) can compute exactly from packed bits is exported:
binary spikes (reset "zero" or "subtract"; "mod" emits integer counts) and a membrane quantizer with a
fixed scale ("uniform" or full precision; the authors' "tanh" quantizer takes its scale from the whole
batch, so one sample's result would depend on the others).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..models import BasicBlock, ConvBNLIF, PerStep, SpikingModel
from ..nn import LIF, BinaryConv2d, QuantConv2d, QuantLinear
from ..nn.quantizers import levels_per_side
from .format import lif_entry, write_packed

__all__ = ["export", "FIRST_LAST_BITS"]

FIRST_LAST_BITS = 8


def _refuse(msg: str):
    raise ValueError(f"cannot export this model: {msg}")


def _lif_options(model) -> dict:
    lifs = [m for m in model.modules() if isinstance(m, LIF)]
    if not lifs:
        _refuse("it has no LIF layers")
    entries = {tuple(lif_entry(m.spec).items()) for m in lifs}
    if len(entries) != 1:
        _refuse(f"its LIF layers differ in their options ({sorted(map(str, entries))}); the format holds one set")
    spec = lifs[0].spec
    if spec.reset == "mod":
        _refuse('reset "mod" emits integer spike counts; the packed engine computes with binary spikes '
                '(reset "zero" or "subtract")')
    if spec.active_quantizer not in (None, "uniform"):
        _refuse(f'membrane quantizer {spec.quantizer!r} takes its scale from the whole batch (max |tanh U|), so a '
                f'sample\'s output would depend on the others; export a model with the "uniform" quantizer')
    if spec.bits is not None and spec.bits > 8:
        _refuse(f"membrane_bits {spec.bits} > 8; the engine stores the membrane in int8")
    return lif_entry(spec)


def _fold_bn(bn: nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    if not bn.track_running_stats or bn.running_mean is None:
        _refuse("a BatchNorm without running statistics cannot be folded")
    with torch.no_grad():
        gain = (bn.weight if bn.affine else torch.ones_like(bn.running_var)) / torch.sqrt(bn.running_var + bn.eps)
        offset = (bn.bias if bn.affine else torch.zeros_like(bn.running_mean)) - bn.running_mean * gain
    return gain.float().numpy(), offset.float().numpy()


def _int_weights(layer, bits: int) -> tuple[np.ndarray, float]:
    """The integer weights q and the scale m / n with ``layer.quantized_weight() == q * (m / n)``."""
    with torch.no_grad():
        w = layer.weight.detach().float()
        m = float(w.abs().amax()) if w.numel() else 1.0
        m = m if m > 0 else 1.0
        n = levels_per_side(bits)
        q = torch.round(torch.clamp(w / m, -1.0, 1.0) * n)
        if not torch.equal(q * (m / n), layer.quantized_weight().float()):
            _refuse(f"the {bits}-bit weights of {type(layer).__name__} do not reproduce as integer x scale")
    return q.to(torch.int8).numpy(), m / n


class _Writer:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def conv(self, name: str, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> dict:
        if conv.groups != 1 or conv.dilation != (1, 1) or conv.kernel_size[0] != conv.kernel_size[1] \
                or conv.stride[0] != conv.stride[1] or conv.padding[0] != conv.padding[1]:
            _refuse(f"{name}: only square, ungrouped, undilated convolutions are supported")
        if conv.bias is not None:
            _refuse(f"{name}: a convolution with a bias before BatchNorm (fold it into the BatchNorm first)")
        spec = {"name": name, "cin": conv.in_channels, "cout": conv.out_channels, "k": conv.kernel_size[0],
                "stride": conv.stride[0], "padding": conv.padding[0]}
        gain, offset = _fold_bn(bn)
        if isinstance(conv, BinaryConv2d):
            with torch.no_grad():
                wq = conv.quantized_weight().detach().float()
            s = wq.abs().reshape(wq.shape[0], -1)
            if bool((s == 0).any()):
                _refuse(f"{name}: a weight is exactly 0 after the sign; the 1-bit format stores +-1 only")
            scale = s[:, 0]
            if not torch.equal(s, scale[:, None].expand_as(s)):
                _refuse(f"{name}: a filter's binary weights differ in magnitude")
            exponent = torch.log2(scale)
            if not torch.equal(exponent, torch.round(exponent)) or bool((exponent.abs() > 127).any()):
                _refuse(f"{name}: a per-filter scale is not a power of two within 2**+-127")
            signs = (wq > 0).permute(0, 2, 3, 1).reshape(wq.shape[0], -1).numpy()  # [C_out, k*k*C_in]
            self.arrays[f"{name}.signs"] = np.packbits(signs, axis=1, bitorder="little")
            self.arrays[f"{name}.exponent"] = exponent.to(torch.int8).numpy()
            spec["weights"] = "binary"
        elif isinstance(conv, QuantConv2d):
            if conv.bits != FIRST_LAST_BITS:
                _refuse(f"{name}: the first convolution has {conv.bits}-bit weights, the format holds {FIRST_LAST_BITS}")
            q, scale = _int_weights(conv, conv.bits)
            self.arrays[f"{name}.weight"] = q
            self.arrays[f"{name}.scale"] = np.array([scale], dtype=np.float32)
            spec["weights"] = "int8"
        else:
            _refuse(f"{name} is a full-precision {type(conv).__name__}; export a Q-SNN (weight_bits=1)")
        self.arrays[f"{name}.gain"] = gain
        self.arrays[f"{name}.offset"] = offset
        return spec

    def readout(self, linear) -> dict:
        if not isinstance(linear, QuantLinear) or linear.bits != FIRST_LAST_BITS:
            _refuse(f"the readout must be an {FIRST_LAST_BITS}-bit QuantLinear, got {type(linear).__name__}")
        q, scale = _int_weights(linear, linear.bits)
        self.arrays["readout.weight"] = q
        self.arrays["readout.scale"] = np.array([scale], dtype=np.float32)
        bias = linear.bias.detach().float().numpy() if linear.bias is not None else np.zeros(linear.out_features,
                                                                                            np.float32)
        self.arrays["readout.bias"] = bias
        return {"in": linear.in_features, "out": linear.out_features}


def _head(head: nn.Module) -> dict:
    mods = [m for m in head.modules() if not isinstance(m, nn.Sequential)]
    if len(mods) == 2 and isinstance(mods[1], nn.Flatten):
        pool = mods[0]
        if isinstance(pool, nn.AdaptiveAvgPool2d):
            size = pool.output_size if isinstance(pool.output_size, int) else pool.output_size[0]
            return {"pool": "adaptive", "size": int(size)}
        if isinstance(pool, nn.AvgPool2d) and pool.kernel_size == pool.stride:
            return {"pool": "avg", "size": int(pool.kernel_size)}
    _refuse(f"its head {head} is not an average pool + flatten")


def _pool(module: nn.Module) -> dict:
    def one(v):
        return v if isinstance(v, int) else v[0]

    if isinstance(module, nn.AvgPool2d) and one(module.padding) == 0 and one(module.kernel_size) == one(module.stride):
        return {"op": "avgpool", "k": one(module.kernel_size)}
    if isinstance(module, nn.MaxPool2d) and one(module.dilation) == 1:
        return {"op": "maxpool", "k": one(module.kernel_size), "stride": one(module.stride),
                "padding": one(module.padding)}
    _refuse(f"pooling {module} is not supported")


def build_program(model) -> tuple[dict, dict[str, np.ndarray]]:
    """The manifest and the arrays of ``model`` (a :class:`qsnn.models.SpikingModel` Q-SNN)."""
    if not isinstance(model, SpikingModel):
        _refuse(f"it is a {type(model).__name__}, not a qsnn.models.SpikingModel (build one with qsnn.models.build)")
    lif = _lif_options(model)
    w = _Writer()
    layers = []
    for i, stage in enumerate(model.features):
        name = f"features.{i}"
        if isinstance(stage, ConvBNLIF):
            layers.append({"op": "conv", **w.conv(name, stage.conv, stage.bn), "membrane_scale": stage.lif.scale()})
        elif isinstance(stage, PerStep):
            layers.append(_pool(stage.module))
        elif isinstance(stage, BasicBlock):
            block = {"op": "block", "branch1": {**w.conv(f"{name}.branch1", stage.branch1.conv, stage.branch1.bn),
                                                "membrane_scale": stage.branch1.lif.scale()},
                     "conv2": w.conv(f"{name}.conv2", stage.conv2, stage.bn2), "shortcut": None,
                     "membrane_scale": stage.lif.scale()}
            if stage.shortcut is not None:
                block["shortcut"] = w.conv(f"{name}.shortcut", stage.shortcut[0], stage.shortcut[1])
            layers.append(block)
        else:
            _refuse(f"stage {name} is a {type(stage).__name__}, which the engine does not know")
    first = layers[0].get("weights") if layers and layers[0]["op"] == "conv" else None
    if first != "int8":
        _refuse("its first stage is not the 8-bit input convolution of a Q-SNN")
    manifest = {"format": "qsnn-packed", "model": model.name, "in_channels": int(model.in_channels),
                "lif": lif, "layers": layers, "head": _head(model.head), "readout": w.readout(model.classifier)}
    return manifest, w.arrays


def export(model, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``model`` as a packed Q-SNN file (format: :mod:`qsnn.deploy.format`) and return its path.

    Parameters
    ----------
    model : qsnn.models.SpikingModel
        A Q-SNN (``weight_bits=1``) with reset "zero" or "subtract" and a uniform or full-precision
        membrane; its BatchNorm running statistics are folded (the model is not changed).
    path : path-like
        The file to write (atomically).
    overwrite : bool
        Replace an existing file (False: refuse, so no export overwrites another's).

    Raises
    ------
    ValueError
        If the model cannot be packed (the message says why), or ``path`` exists and not ``overwrite``.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise ValueError(f"{path} exists; pass overwrite=True to replace it, or choose another path")
    if not path.parent.is_dir():
        raise ValueError(f"the folder {path.parent} does not exist")
    manifest, arrays = build_program(model)
    return write_packed(path, manifest, arrays)

