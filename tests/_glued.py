"""What an executed chapter shows and what the committed runs hold, for tests that recompute a chapter's printed
numbers from the runs alone."""

from __future__ import annotations

import ast
import json
from pathlib import Path


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
