"""Tests of chapter 9's figures (qsnn.book.figures.deploy): what each panel draws."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from qsnn.book.figures import deploy as figs  # noqa: E402


def test_file_bytes_figure_stacks_the_parts_beside_the_references():
    fig = figs.file_bytes_figure({"header": 24, "manifest": 2000, "binary weights": 18000},
                                 {"paper convention": 23640, "full precision": 581640})
    ax, ax2 = fig.axes
    assert [p.get_width() for p in ax.patches] == [24, 2000, 18000, 23640]
    assert [p.get_x() for p in ax.patches][:3] == [0, 24, 2024]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["packed file", "paper convention"]
    assert [p.get_width() for p in ax2.patches] == [20024, 23640, 581640]
    assert [t.get_text() for t in ax2.get_yticklabels()] == ["packed file", "paper convention", "full precision"]
    plt.close(fig)


def test_operations_figure_two_bars_per_layer():
    layers = [{"name": "features.0", "dense_macs": 100.0, "accumulates": 0, "macs": 100.0},
              {"name": "features.1", "dense_macs": 1000.0, "accumulates": 300.0, "macs": 0},
              {"name": "readout", "dense_macs": 50.0, "accumulates": 0, "macs": 200.0}]
    fig = figs.operations_figure(layers)
    ax, = fig.axes
    heights = [p.get_height() for p in ax.patches]
    assert heights[:3] == [100.0, 1000.0, 50.0] and heights[3:6] == [0, 300.0, 0] and heights[6:] == [100.0, 0, 200.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["conv 0", "conv 1", "readout"]
    assert np.allclose([p.get_y() for p in ax.patches[6:]], [0, 300.0, 0])
    plt.close(fig)
