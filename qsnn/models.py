"""Q-SNN architectures: VGG-11, ResNet-19, ResNet-18, VGGSNN and a small net, and their registry.

The layouts are those Q-SNNs (Wei et al., ACM MM 2024) evaluates: VGG-11 as tabulated with Q-SNN by
Liang et al. (BSO, ICML 2025), ResNet-19 as in tdBN/TET (Zheng et al., AAAI 2021; Deng et al., ICLR
2022), the standard ResNet-18, and TET's VGGSNN for 2x48x48 event frames. :data:`MODELS` is the one
list of model names: the training configuration and the command line read it from here.

Every model maps x [T, B, C, H, W] to logits [T, B, K] (the readout is applied at every time
step; the prediction is the argmax of the mean over T), and with ``return_rates=True`` also to
the list of per-spiking-layer mean firing rates (scalar tensors, depth order, differentiable)
that ``qsnn.nn.spike_rate_loss`` regulates. Nothing is kept between calls, so a model can be
wrapped in DataParallel/DistributedDataParallel.

Building blocks: conv + BatchNorm + LIF, with BatchNorm over the T*B samples of a batch.
With ``weight_bits=1`` (Q-SNN) every conv except the first (1x1 shortcuts included) has binary
weights, the first conv and the last linear layer 8-bit weights; ``weight_bits=32`` gives the
full-precision network of the same architecture. The spiking layers are :class:`qsnn.nn.LIF`.
"""

from __future__ import annotations

from typing import Sequence

from ._core.extras import require_extra

require_extra("torch", "qsnn.models", modules=("torch",))  # a message naming the extra, not a bare ModuleNotFoundError

import torch
from torch import nn

from .nn import LIF, BinaryConv2d, QuantConv2d, QuantLinear
from .nn.fused import batchnorm_lif, can_fuse
from .nn.pooling import AdaptiveAvgPool2d, AvgPool2d
from .nn.lifspec import LIFSpec
from .nn.quantizers import WEIGHT_ESTIMATORS, check_regulation

__all__ = ["MODELS", "DEFAULT_WIDTHS", "build", "SpikingModel", "spiking_layers"]

DEFAULT_WIDTHS = {
    "vgg11": (64, 128, 256, 256, 512, 512, 512, 512),
    "resnet19": (128, 256, 512),
    "resnet18": (64, 128, 256, 512),
    "vggsnn": (64, 128, 256, 256, 512, 512, 512, 512),
    "small": (8, 16, 32),
    "conv4": (16, 32, 32, 64),
}
# The registry: every buildable architecture, with its default channel widths.
MODELS = tuple(DEFAULT_WIDTHS)
WEIGHT_BITS = (1, 32)
FIRST_LAST_BITS = 8
_DEFAULT_INPUT = {"vggsnn": (48, 48), "conv4": (28, 28)}


def _per_step(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a per-sample module to [T, B, ...] by folding T into the batch."""
    y = module(x.flatten(0, 1))
    return y.view(x.shape[0], x.shape[1], *y.shape[1:])


class _Factory:
    """Makes the layers of one configuration (weight precision, LIF options)."""

    def __init__(self, weight_bits, weight_regulation, estimator, lif_spec):
        self.binary = weight_bits == 1
        self.weight_regulation = weight_regulation
        self.estimator = estimator
        self.lif_spec = lif_spec

    def first_conv(self, cin, cout, k=3, stride=1, padding=1):
        if self.binary:
            return QuantConv2d(cin, cout, k, stride, padding, bits=FIRST_LAST_BITS)
        return nn.Conv2d(cin, cout, k, stride, padding, bias=False)

    def conv(self, cin, cout, k=3, stride=1, padding=1):
        if self.binary:
            return BinaryConv2d(cin, cout, k, stride, padding,
                                weight_regulation=self.weight_regulation, estimator=self.estimator)
        return nn.Conv2d(cin, cout, k, stride, padding, bias=False)

    def readout(self, cin, cout):
        if self.binary:
            return QuantLinear(cin, cout, bits=FIRST_LAST_BITS)
        return nn.Linear(cin, cout)

    def lif(self):
        return LIF.from_spec(self.lif_spec)


class ConvBNLIF(nn.Module):
    """conv + BatchNorm2d + LIF on [T, B, C, H, W] -> spikes [T, B, C', H', W'].

    In training mode on the CPU, BatchNorm runs inside the LIF kernels (:mod:`qsnn.nn.fused`, the same
    function); eval mode and other devices run the two modules in turn.
    """

    def __init__(self, conv: nn.Module, lif: LIF):
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm2d(conv.out_channels)
        self.lif = lif

    def forward(self, x, rates=None):
        y = self.conv(x.flatten(0, 1))
        if can_fuse(self.bn, self.lif, y):  # training mode on the CPU: BatchNorm inside the LIF kernels
            s = batchnorm_lif(y, self.bn, self.lif, x.shape[0])
        else:
            z = self.bn(y)
            s = self.lif(z.view(x.shape[0], x.shape[1], *z.shape[1:]))
        if rates is not None:
            rates.append(s.mean())
        return s


class PerStep(nn.Module):
    """Wrap a stateless per-sample module (pooling) for [T, B, ...] inputs."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x, rates=None):
        return _per_step(self.module, x)


class BasicBlock(nn.Module):
    """Spiking basic block: conv-BN-LIF-conv-BN, plus the shortcut, then LIF (the tdBN/TET block).

    The shortcut is the identity, or a 1x1 conv (binary in a Q-SNN) + BN when the shape changes.
    """

    def __init__(self, make: _Factory, cin: int, cout: int, stride: int):
        super().__init__()
        self.branch1 = ConvBNLIF(make.conv(cin, cout, 3, stride, 1), make.lif())
        self.conv2 = make.conv(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(make.conv(cin, cout, 1, stride, 0), nn.BatchNorm2d(cout))
        self.lif = make.lif()

    def forward(self, x, rates=None):
        y = _per_step(lambda z: self.bn2(self.conv2(z)), self.branch1(x, rates))
        y = y + (x if self.shortcut is None else _per_step(self.shortcut, x))
        s = self.lif(y)
        if rates is not None:
            rates.append(s.mean())
        return s


class SpikingModel(nn.Module):
    """A sequence of spiking stages followed by pooling/flatten and a readout at every step.

    Attributes
    ----------
    name : str
        The architecture.
    features : nn.ModuleList
        Stages taking (x [T, B, ...], rates) and returning [T, B, ...].
    head : nn.Module
        Per-sample pooling + flatten before the readout.
    classifier : nn.Module
        The readout (8-bit linear in a Q-SNN).
    """

    def __init__(self, name: str, in_channels: int, features: Sequence[nn.Module], head: nn.Module,
                 classifier: nn.Module):
        super().__init__()
        self.name = name
        self.in_channels = in_channels
        self.features = nn.ModuleList(features)
        self.head = head
        self.classifier = classifier

    def forward(self, x: torch.Tensor, return_rates: bool = False):
        """Logits [T, B, K] of x [T, B, C, H, W]; with ``return_rates`` also the layer rates.

        Raises
        ------
        ValueError
            If x is not a floating-point [T, B, C, H, W] tensor with C = in_channels.
        """
        if (not isinstance(x, torch.Tensor) or x.ndim != 5 or not x.is_floating_point()
                or x.shape[2] != self.in_channels):
            raise ValueError(
                f"x must be a floating-point tensor [T, B, {self.in_channels}, H, W], got "
                f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))}"
            )
        rates: list[torch.Tensor] | None = [] if return_rates else None
        for stage in self.features:
            x = stage(x, rates)
        logits = _per_step(lambda z: self.classifier(self.head(z)), x)
        return (logits, rates) if return_rates else logits


def spiking_layers(model: nn.Module) -> list[LIF]:
    """The LIF layers of a model in the order their rates are reported."""
    return [m for m in model.modules() if isinstance(m, LIF)]


# ---------------------------------------------------------------------------------------------
# Architectures
# ---------------------------------------------------------------------------------------------


def _vgg(name, make, in_channels, num_classes, widths, input_size):
    # 64C3-128C3-AP2-256C3-256C3-AP2-512C3-512C3-AP2-512C3-512C3-(GAP | AP2)-FC
    pool_after = {1, 3, 5}
    feats, cin = [], in_channels
    for i, w in enumerate(widths):
        conv = make.first_conv(cin, w) if i == 0 else make.conv(cin, w)
        feats.append(ConvBNLIF(conv, make.lif()))
        if i in pool_after:
            feats.append(PerStep(AvgPool2d(2)))
        cin = w
    if name == "vgg11":
        head = nn.Sequential(AdaptiveAvgPool2d(1), nn.Flatten())
        fc_in = cin
    else:  # vggsnn: a fourth AP2, then flatten
        h, w = input_size
        if h // 16 < 1 or w // 16 < 1:
            raise ValueError(f"input_size must be at least (16, 16) for vggsnn, got {tuple(input_size)!r}")
        head = nn.Sequential(AvgPool2d(2), nn.Flatten())
        fc_in = cin * (h // 16) * (w // 16)
    return SpikingModel(name, in_channels, feats, head, make.readout(fc_in, num_classes))


def _resnet(name, make, in_channels, num_classes, widths):
    if name == "resnet19":
        stem = [ConvBNLIF(make.first_conv(in_channels, widths[0], 3, 1, 1), make.lif())]
        blocks, strides = (3, 3, 2), (1, 2, 2)
    else:
        stem = [ConvBNLIF(make.first_conv(in_channels, widths[0], 7, 2, 3), make.lif()),
                PerStep(nn.MaxPool2d(3, 2, 1))]
        blocks, strides = (2, 2, 2, 2), (1, 2, 2, 2)
    feats, cin = stem, widths[0]
    for w, n, stride in zip(widths, blocks, strides):
        for j in range(n):
            feats.append(BasicBlock(make, cin, w, stride if j == 0 else 1))
            cin = w
    head = nn.Sequential(AdaptiveAvgPool2d(1), nn.Flatten())
    return SpikingModel(name, in_channels, feats, head, make.readout(cin, num_classes))


def _small(make, in_channels, num_classes, widths):
    # w0C3-w1C3-AP2-w2C3-AP(2x2)-FC: for 8x8 digits 8 -> 4 -> 2
    w0, w1, w2 = widths
    feats = [
        ConvBNLIF(make.first_conv(in_channels, w0), make.lif()),
        ConvBNLIF(make.conv(w0, w1), make.lif()),
        PerStep(AvgPool2d(2)),
        ConvBNLIF(make.conv(w1, w2), make.lif()),
    ]
    head = nn.Sequential(AdaptiveAvgPool2d(2), nn.Flatten())
    return SpikingModel("small", in_channels, feats, head, make.readout(w2 * 4, num_classes))


def _conv4(make, in_channels, num_classes, widths, input_size):
    # w0C3-w1C3-AP2-w2C3-w3C3-AP2-FC over the (H/4 x W/4) map: for 28x28 images 28 -> 14 -> 7
    w0, w1, w2, w3 = widths
    h, w = input_size
    if h // 4 < 1 or w // 4 < 1:
        raise ValueError(f"input_size must be at least (4, 4) for conv4, got {tuple(input_size)!r}")
    feats = [
        ConvBNLIF(make.first_conv(in_channels, w0), make.lif()),
        ConvBNLIF(make.conv(w0, w1), make.lif()),
        PerStep(AvgPool2d(2)),
        ConvBNLIF(make.conv(w1, w2), make.lif()),
        ConvBNLIF(make.conv(w2, w3), make.lif()),
    ]
    head = nn.Sequential(AvgPool2d(2), nn.Flatten())
    return SpikingModel("conv4", in_channels, feats, head, make.readout(w3 * (h // 4) * (w // 4), num_classes))


def _positive_int(name, v, low=1):
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")


def build(
    name: str,
    num_classes: int,
    in_channels: int,
    weight_bits: int = 1,
    membrane_bits: int | None = 8,
    decay: float = 0.5,
    threshold: float = 1.0,
    reset: str = "zero",
    weight_regulation: bool | str = True,
    estimator: str = "ede",
    membrane_quantizer: str = "uniform",
    surrogate: str = "triangle",
    widths: Sequence[int] | None = None,
    input_size: Sequence[int] | None = None,
) -> SpikingModel:
    """Build a Q-SNN (or its full-precision baseline) by name (one of :data:`MODELS`).

    Parameters
    ----------
    name : {"vgg11", "resnet19", "resnet18", "vggsnn", "small", "conv4"}
        ``"vgg11"``: 64C3-128C3-AP2-256C3-256C3-AP2-512C3-512C3-AP2-512C3-512C3-GAP-FC;
        ``"resnet19"``: conv3x3 stem at 128, basic blocks 3-3-2 at 128/256/512, GAP, FC;
        ``"resnet18"``: conv7x7/2 stem + maxpool, blocks 2-2-2-2 at 64..512, GAP, FC;
        ``"vggsnn"``: VGG-11's convs with a fourth AP2 and a flattening FC (TET's DVS net, input
        2x48x48); ``"small"``: w0C3-w1C3-AP2-w2C3-AP-FC for the 8x8 digits (8-16-32);
        ``"conv4"``: w0C3-w1C3-AP2-w2C3-w3C3-AP2-FC over the flattened (H/4 x W/4) map, four spiking
        layers for 28x28 images (16-32-32-64; Fashion-MNIST in chapter 7).
    num_classes : int
        K >= 1, the readout's size.
    in_channels : int
        C of the input.
    weight_bits : {1, 32}
        1: binary hidden convs, 8-bit first conv and readout (Q-SNN); 32: full precision.
    membrane_bits : int or None
        b >= 2 bits of every LIF's stored state (8, the authors' default); None: full precision.
    decay, threshold, reset, membrane_quantizer, surrogate
        Options of every :class:`qsnn.nn.LIF` (0.5, 1.0, "zero", "uniform", "triangle").
    weight_regulation : {True, "scale", False}
        Per-filter standardization before the sign (WS-DR; True), per-filter division by the RMS
        (``"scale"``: raw signs, the sign estimator on WS-DR's scale) or raw weights (False); see
        :func:`qsnn.nn.binarize_weight`. Binary layers only.
    estimator : {"ede", "ste"}
        Sign gradient of the binary layers ("ede").
    widths : sequence of int or None
        Channel counts overriding the defaults (:data:`DEFAULT_WIDTHS`; same length: 8 for the
        VGGs, 3 for ResNet-19 and the small net, 4 for ResNet-18 and conv4).
    input_size : (H, W) or None
        Input resolution; only ``"vggsnn"`` and ``"conv4"`` need it (their FC flattens; default
        48x48 and 28x28). The others pool globally and accept any size.

    Returns
    -------
    SpikingModel

    Raises
    ------
    ValueError
        Naming the argument, the value and what is allowed.
    """
    if name not in MODELS:
        raise ValueError(f"name must be one of {', '.join(MODELS)}, got {name!r}")
    _positive_int("num_classes", num_classes)
    _positive_int("in_channels", in_channels)
    if weight_bits not in WEIGHT_BITS or isinstance(weight_bits, bool):
        raise ValueError(f"weight_bits must be 1 (binary Q-SNN) or 32 (full precision), got {weight_bits!r}")
    lif_spec = LIFSpec(threshold=threshold, decay=decay, reset=reset, bits=membrane_bits,
                       quantizer=membrane_quantizer, surrogate=surrogate)
    check_regulation(weight_regulation)
    if estimator not in WEIGHT_ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(map(repr, WEIGHT_ESTIMATORS))}, got {estimator!r}")
    default = DEFAULT_WIDTHS[name]
    if widths is None:
        widths = default
    else:
        if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__") or len(widths) != len(default) or any(
            isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths
        ):
            raise ValueError(
                f"widths must be {len(default)} integers >= 1 for {name} (default {default}), got {widths!r}"
            )
        widths = tuple(widths)
    if input_size is None:
        input_size = _DEFAULT_INPUT.get(name)
    elif (isinstance(input_size, (str, bytes)) or not hasattr(input_size, "__len__") or len(input_size) != 2
          or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in input_size)):
        raise ValueError(f"input_size must be (H, W) with integers >= 1, got {input_size!r}")
    make = _Factory(weight_bits, weight_regulation, estimator, lif_spec)
    if name in ("vgg11", "vggsnn"):
        return _vgg(name, make, in_channels, num_classes, widths, input_size)
    if name in ("resnet19", "resnet18"):
        return _resnet(name, make, in_channels, num_classes, widths)
    if name == "conv4":
        return _conv4(make, in_channels, num_classes, widths, input_size)
    return _small(make, in_channels, num_classes, widths)
