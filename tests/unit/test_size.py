"""Tests of qsnn.size: model size by the Q-SNN convention (golden values: the paper's VGG-11 sizes) and the
membrane state memory per sample."""

import pytest

from qsnn import models
from qsnn.size import lif_neurons, membrane_state_bytes, model_size, parameter_bits


@pytest.fixture(scope="module")
def vgg11():
    """VGG-11 for CIFAR-10 and CIFAR-100, Q-SNN and full precision."""
    return {
        (k, bits): models.build("vgg11", k, 3, weight_bits=bits, membrane_bits=8 if bits == 1 else None)
        for k in (10, 100)
        for bits in (1, 32)
    }


@pytest.mark.parametrize("classes, fp, q", [(10, 36.91, 1.20), (100, 37.10, 1.39)])
def test_vgg11_sizes_reproduce_the_paper(vgg11, classes, fp, q):
    """VGG-11: 36.91 -> 1.20 MB (CIFAR-10) and 37.10 -> 1.39 MB (CIFAR-100), rounded to 0.01 MB."""
    assert round(model_size(vgg11[classes, 32]), 2) == fp
    assert round(model_size(vgg11[classes, 1]), 2) == q


def test_vgg11_size_exact_bit_count(vgg11):
    """CIFAR-10 Q-SNN: 9,216,000 binary weights at 1 bit + 12,362 parameters at 32 bit."""
    assert model_size(vgg11[10, 1]) * 1e6 == pytest.approx(9_216_000 / 8 + 12_362 * 4)
    assert model_size(vgg11[10, 32]) * 1e6 == pytest.approx(9_228_362 * 4)


def test_vgg11_reduction_is_about_thirty_fold(vgg11):
    """The binary model is ~30.7x smaller (the paper's 'up to ~96 %' reduction)."""
    ratio = model_size(vgg11[10, 32]) / model_size(vgg11[10, 1])
    assert 30 < ratio < 31.5


def test_full_precision_counts_every_parameter_at_32_bit():
    """A full-precision model's size is 4 bytes per parameter; buffers are not counted."""
    m = models.build("resnet19", 10, 3, weight_bits=32, membrane_bits=None, widths=(4, 8, 8))
    n = sum(p.numel() for p in m.parameters())
    assert model_size(m) == pytest.approx(4 * n / 1e6)


def test_actual_counting_charges_eight_bit_layers_at_eight_bits(vgg11):
    """counting='actual' charges the 8-bit first conv and readout weights at 8 bits (bias 32)."""
    m = vgg11[10, 1]
    diff = (model_size(m) - model_size(m, "actual")) * 1e6 * 8
    assert diff == pytest.approx((1728 + 5120) * 24)
    bits = parameter_bits(m, "actual")
    assert bits["features.0.conv.weight"] == 1728 * 8 and bits["classifier.bias"] == 10 * 32


def test_small_net_size_by_hand():
    """Small net (8-16-32, 1 -> 10): binary 8*16*9 + 16*32*9 at 1 bit, the rest at 32 bit."""
    m = models.build("small", 10, 1)
    binary = 8 * 16 * 9 + 16 * 32 * 9
    rest = 8 * 9 + 2 * (8 + 16 + 32) + 128 * 10 + 10
    assert model_size(m) * 1e6 == pytest.approx(binary / 8 + rest * 4)


def test_size_rejects_bad_arguments():
    """Unknown counting or a non-module raise ValueError."""
    with pytest.raises(ValueError, match="counting must be one of"):
        model_size(models.build("small", 10, 1), "packed")
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        model_size("vgg11")


def test_vgg11_membrane_neurons_per_layer(vgg11):
    """VGG-11 at 32x32: 64*32^2, 128*32^2, 256*16^2 (x2), 512*8^2 (x2), 512*4^2 (x2) neurons."""
    assert lif_neurons(vgg11[10, 1], (3, 32, 32)) == [65536, 131072, 65536, 65536, 32768, 32768, 8192, 8192]


def test_membrane_memory_scales_with_bits(vgg11):
    """409,600 potentials per sample: 1.64 MB at 32 bit, divided by 32/b at b bits."""
    m = vgg11[10, 1]
    assert membrane_state_bytes(m, (3, 32, 32), 32) == 409_600 * 4
    assert membrane_state_bytes(m, (3, 32, 32), 2) == 409_600 / 4
    assert membrane_state_bytes(m, (3, 32, 32)) == 409_600  # the layers' own 8 bits
    assert membrane_state_bytes(vgg11[10, 32], (3, 32, 32)) == 409_600 * 4  # FP: 32 bit


def test_membrane_count_includes_residual_lifs():
    """ResNet-19 counts both LIFs of every block: stem + 2 x 8 blocks."""
    m = models.build("resnet19", 10, 3, widths=(4, 8, 8))
    counts = lif_neurons(m, (3, 16, 16))
    assert counts == [4 * 256] * 7 + [8 * 64] * 6 + [8 * 16] * 4


def test_membrane_count_restores_training_mode():
    """Counting runs in eval mode and restores the module's mode."""
    m = models.build("small", 10, 1).train()
    lif_neurons(m, (1, 8, 8))
    assert m.training


@pytest.mark.parametrize(
    "shape, bits, match",
    [((1, 0, 8), None, "input_shape"), ("1x8x8", None, "input_shape"), ((), None, "input_shape"),
     ((1, 8, 8), 0, "bits must be an integer >= 1, got 0"), ((1, 8, 8), 2.5, "bits must be an integer, got 2.5"),
     ((1, 8, 8), True, "bits must be an integer, got True"), ((1, True, 8), None, r"input_shape\[1\] must be an integer")],
)
def test_membrane_memory_rejects_bad_arguments(shape, bits, match):
    """Bad shapes and bit widths raise ValueError naming them."""
    with pytest.raises(ValueError, match=match):
        membrane_state_bytes(models.build("small", 10, 1), shape, bits)
