"""Figures of chapter 9, a deployed Q-SNN (:mod:`qsnn.deploy`).

Each function draws one figure from values the chapter computed and returns the matplotlib ``Figure``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["file_bytes_figure", "operations_figure"]


def file_bytes_figure(parts: Mapping[str, int], references: Mapping[str, float]):
    """Left: one stacked bar of the packed file's bytes by kind (``parts``, e.g.
    :func:`qsnn.deploy.report.anatomy_summary` without its total) beside the first of ``references`` (label -> bytes), linear axis.
    Right: the file's total against every reference, log axis."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.0), gridspec_kw={"width_ratios": [3, 2]})
    cmap = plt.get_cmap("tab10")
    left = 0.0
    for i, (kind, nbytes) in enumerate(parts.items()):
        ax.barh(0, nbytes, left=left, color=cmap(i % 10), label=f"{kind} ({nbytes:,} B)")
        left += nbytes
    first, first_bytes = next(iter(references.items()))
    ax.barh(1, first_bytes, color="0.7")
    ax.set_yticks([0, 1], ["packed file", first])
    ax.set(xlabel="bytes", title="what the packed file holds")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    labels = ["packed file", *references]
    totals = [left, *references.values()]
    ax2.barh(range(len(totals)), totals, color=["#2166ac"] + ["0.7"] * len(references))
    for j, v in enumerate(totals):
        ax2.text(v, j, f" {v / 1e3:,.1f} kB", va="center", fontsize=8)
    ax2.set_yticks(range(len(totals)), labels)
    ax2.set_xscale("log")
    ax2.set_xlim(1e3, max(totals) * 20)
    ax2.set(xlabel="bytes (log)", title="in all")
    ax2.invert_yaxis()
    return fig


def operations_figure(layers: Sequence[Mapping]):
    """Per layer of :func:`qsnn.deploy.report.operation_counts`: the dense multiply-accumulates of the same
    layer in an ANN (one pass) against what the Q-SNN executes over its T steps (accumulates in the
    binary layers, multiply-accumulates in the first layer and the readout), log scale."""
    names = [r["name"].replace("features.", "conv ") for r in layers]
    x = np.arange(len(layers))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(layers)), 3.2))
    ax.bar(x - 0.2, [r["dense_macs"] for r in layers], 0.4, color="0.6", label="ANN of the same shape: MACs")
    ax.bar(x + 0.2, [r["accumulates"] for r in layers], 0.4, color="#2166ac", label="Q-SNN, T steps: accumulates")
    ax.bar(x + 0.2, [r["macs"] for r in layers], 0.4, bottom=[r["accumulates"] for r in layers], color="#d6604d",
           label="Q-SNN, T steps: MACs")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set(yscale="log", ylabel="operations per image", title="operations per layer")
    ax.legend(fontsize=8)
    return fig
