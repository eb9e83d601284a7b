"""Figures of chapter 9, a deployed Q-SNN (:mod:`qsnn.deploy`).

Each function draws one figure from values the chapter computed and returns the matplotlib ``Figure``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["file_bytes_figure", "operations_figure"]


def file_bytes_figure(parts: Mapping[str, int], references: Mapping[str, float]):
    """One stacked bar of the packed file's bytes by kind (``parts``, e.g. :func:`qsnn.deploy.report.
    anatomy_summary` without its total) beside single bars of ``references`` (label -> bytes), on a log axis."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    cmap = plt.get_cmap("tab10")
    left = 0.0
    for i, (kind, nbytes) in enumerate(parts.items()):
        ax.barh(0, nbytes, left=left, color=cmap(i % 10), label=f"{kind} ({nbytes:,} B)")
        left += nbytes
    for j, (label, nbytes) in enumerate(references.items(), start=1):
        ax.barh(j, nbytes, color="0.7")
        ax.text(nbytes, j, f"  {nbytes / 1e3:,.1f} kB", va="center", fontsize=8)
    ax.text(left, 0, f"  {left / 1e3:,.1f} kB", va="center", fontsize=8)
    ax.set_yticks(range(len(references) + 1), ["packed file", *references])
    ax.set_xscale("log")
    ax.set(xlabel="bytes", title="what the packed file holds, against the counting rules")
    ax.set_xlim(right=ax.get_xlim()[1] * 6)
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
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
