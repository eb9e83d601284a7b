"""Tests of qsnn.book.paper_values: the values of Wei et al. (as tabulated by Liang et al., BSO) that the chapters quote."""

import pytest

from qsnn.book import paper_values


def test_vgg11_table_holds_the_tabulated_values():
    assert paper_values.VGG11["CIFAR-10 (T=6)"] == {"fp_snn": (36.91, 93.23), "qsnn": (1.20, 93.20)}
    assert paper_values.VGG11["CIFAR-100 (T=6)"] == {"fp_snn": (37.10, 71.15), "qsnn": (1.39, 73.48)}
    assert paper_values.VGG11["CIFAR10-DVS (T=10)"] == {"fp_snn": (None, 73.90), "qsnn": (1.20, 79.10)}


def test_vgg11_fills_in_the_dvs_size_on_a_copy():
    table = paper_values.vgg11(dvs_fp_mb=36.91)
    assert table["CIFAR10-DVS (T=10)"]["fp_snn"] == (36.91, 73.90)
    assert paper_values.VGG11["CIFAR10-DVS (T=10)"]["fp_snn"] == (None, 73.90)  # the module's table is left as it is


def test_accuracy_gap_is_qsnn_minus_full_precision_as_a_fraction():
    assert paper_values.accuracy_gap("CIFAR-10 (T=6)") == (93.20 - 93.23) / 100
    assert paper_values.accuracy_gap("CIFAR10-DVS (T=10)") == pytest.approx(0.052)
    with pytest.raises(KeyError, match="no reported values"):
        paper_values.accuracy_gap("ImageNet")


def test_architectures_size_as_tabulated():
    from qsnn.book.analysis import model_size_table

    labels = [a[0] for a in paper_values.ARCHITECTURES]
    assert labels[:2] == ["VGG-11, CIFAR-10", "VGG-11, CIFAR-100"] and "ResNet-18, ImageNet" in labels
    sizes, _, _ = model_size_table(paper_values.ARCHITECTURES[:2])
    for label, data in (("VGG-11, CIFAR-10", "CIFAR-10 (T=6)"), ("VGG-11, CIFAR-100", "CIFAR-100 (T=6)")):
        fp, q = paper_values.VGG11[data]["fp_snn"][0], paper_values.VGG11[data]["qsnn"][0]
        assert (round(sizes[label]["fp32_mb"], 2), round(sizes[label]["qsnn_mb"], 2)) == (fp, q)
