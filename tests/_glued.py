"""What an executed chapter shows and what the committed runs hold, for tests that recompute a chapter's printed
numbers from the runs alone."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

from scipy.stats import t as student_t
from scipy.stats import ttest_rel


def glued(chapter: Path) -> dict:
    """``{name: value}`` of every glue output committed in the notebook ``chapter``."""
    out = {}
    for cell in json.loads(chapter.read_text(encoding="utf-8"))["cells"]:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:  # MyST-NB's hidden glue output: the value's repr, rounded to 6 significant digits
                out[name] = ast.literal_eval(o["data"]["application/papermill.record/text/plain"])
    return out


def committed_accuracy(grid: Path, arm: str) -> dict:
    """``{seed: test accuracy}`` of the finished runs of ``arm`` committed under the grid folder ``grid``."""
    return {int(f.name.removeprefix("seed")): json.loads((f / "metrics.json").read_text())["test_acc"]
            for f in sorted((grid / arm).glob("seed*")) if (f / "model.pt").is_file()}


def effect(diffs: list) -> str:
    """The chapter's words for a paired effect: mean, t interval, pairs."""
    if not diffs:
        return "no pair"
    n, mean = len(diffs), sum(diffs) / len(diffs)
    if n == 1:
        return f"{100 * mean:+z.2f} points over 1 pair"
    half = student_t.ppf(0.975, n - 1) * math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)) / math.sqrt(n)
    return f"{100 * mean:+z.2f} points [{100 * (mean - half):+z.2f}, {100 * (mean + half):+z.2f}] over {n} pairs"


def family_verdicts(families: list[list], declared: int) -> list[str]:
    """Holm over the family (two-sided paired t p-values), withheld until every member has ``declared`` pairs; a
    verdict read carries its adjusted p-value."""
    if any(len(d) < declared for d in families):
        return [f"withheld: {len(d)} of {declared} pairs" if len(d) < declared
                else "withheld until the rest of its family is in" for d in families]
    # equal differences on every seed: no spread, so p is 0 (a non-zero difference) or 1 (none), as in qsnn.stats
    ps = [ttest_rel(d, [0.0] * len(d)).pvalue if len(set(d)) > 1 else float(d[0] == 0.0) for d in families]
    order, adjusted, running = sorted(range(len(ps)), key=lambda i: ps[i]), [0.0] * len(ps), 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - j) * ps[i]))
        adjusted[i] = running
    words = []
    for d, p in zip(families, adjusted):
        mean = sum(d) / len(d)
        word = "not distinguishable from zero" if p >= 0.05 else "above zero" if mean > 0 else "below zero"
        words.append(f"{word}, Holm-adjusted {'p < 0.001' if p < 1e-3 else f'p = {p:.3f}'}")
    return words
