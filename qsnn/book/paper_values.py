"""The values the Q-SNN paper reports, in one place: the model sizes and test accuracies of VGG-11 in Wei et al.,
"Q-SNNs: Quantized Spiking Neural Networks" (ACM MM 2024, doi:10.1145/3664647.3681186), as tabulated by Liang et
al., "BSO: Binary Spiking Online Optimization Algorithm" (ICML 2025).

They need the real data sets, 300 epochs and a GPU: the chapters set the book's small runs beside them, compare
the differences they imply and check the model-size convention against them; they do not reproduce them.
"""

from __future__ import annotations

import copy

__all__ = ["VGG11", "vgg11", "accuracy_gap", "ARCHITECTURES", "FASHION_MNIST_ANCHORS"]

VGG11 = {
    "CIFAR-10 (T=6)": {"fp_snn": (36.91, 93.23), "qsnn": (1.20, 93.20)},
    "CIFAR-100 (T=6)": {"fp_snn": (37.10, 71.15), "qsnn": (1.39, 73.48)},
    "CIFAR10-DVS (T=10)": {"fp_snn": (None, 73.90), "qsnn": (1.20, 79.10)},
}
"""Per data set (with its time steps T) and variant, ``(size in MB, test accuracy in %)`` of VGG-11: the
full-precision SNN (``fp_snn``) and the Q-SNN (``qsnn``, binary weights, quantized membranes, WS-DR). The
full-precision size on CIFAR10-DVS is not tabulated (None)."""


FASHION_MNIST_ANCHORS = {
    "PLIF SNN, full precision (Fang et al., ICCV 2021)": 94.38,
}
"""Published Fashion-MNIST test accuracies (%) of spiking networks, set beside the book's table as reported
values: the parametric-LIF network of Fang et al., "Incorporating Learnable Membrane Time Constant to Enhance
Learning of Spiking Neural Networks" (ICCV 2021, arXiv:2007.05785), a convolutional SNN with full-precision
weights trained for hundreds of epochs on a GPU. The Q-SNN paper reports no Fashion-MNIST result."""


def vgg11(dvs_fp_mb: float) -> dict:
    """A copy of :data:`VGG11` with the full-precision size on CIFAR10-DVS filled in (computed by the book's size
    convention, :func:`qsnn.size.model_size`, since the table gives none)."""
    table = copy.deepcopy(VGG11)
    table["CIFAR10-DVS (T=10)"]["fp_snn"] = (dvs_fp_mb, VGG11["CIFAR10-DVS (T=10)"]["fp_snn"][1])
    return table


def accuracy_gap(data: str) -> float:
    """The reported accuracy of the Q-SNN minus the full-precision SNN's on ``data`` (a key of :data:`VGG11`), as a
    fraction (e.g. -0.0003 on CIFAR-10)."""
    if data not in VGG11:
        raise KeyError(f"no reported values for {data!r}; there are {', '.join(VGG11)}")
    return (VGG11[data]["qsnn"][1] - VGG11[data]["fp_snn"][1]) / 100


ARCHITECTURES = [
    ("VGG-11, CIFAR-10", "vgg11", 10, (3, 32, 32)),
    ("VGG-11, CIFAR-100", "vgg11", 100, (3, 32, 32)),
    ("ResNet-19, CIFAR-10", "resnet19", 10, (3, 32, 32)),
    ("ResNet-19, CIFAR-100", "resnet19", 100, (3, 32, 32)),
    ("ResNet-18, ImageNet", "resnet18", 1000, (3, 224, 224)),
    ("VGGSNN, CIFAR10-DVS", "vggsnn", 10, (2, 48, 48)),
]
"""The networks and data sets the Q-SNN paper evaluates, as ``(label, model name of qsnn.models.build, classes,
input shape (C, H, W))`` (CIFAR10-DVS resized to 48x48 as in the authors' code), the rows of
:func:`qsnn.book.analysis.model_size_table`."""
