"""The chapters stay thin: parameters, a few calls into the package, the claims asserted, the numbers glued.

A chapter's code lines are the non-blank lines of all its code cells. Every chapter has at most
``MAX_CODE_LINES`` of them, and the chapters average at most that many. Chapter 7 has a section page of its own
(``07_fashion_mnist_sweeps``, the second regime and the sweeps), a notebook like the chapters."""

import json
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[2] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
MAX_CODE_LINES = 140


def code_lines(notebook: Path) -> int:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code"
               for line in "".join(c["source"]).splitlines() if line.strip())


def test_code_lines_count_the_non_blank_lines_of_code_cells(tmp_path):
    nb = {"cells": [{"cell_type": "code", "source": ["a = 1\n", "\n", "  \n", "# why\n", "b = 2"]},
                    {"cell_type": "markdown", "source": ["text\n", "more"]},
                    {"cell_type": "code", "source": "print(a)\n"}]}
    path = tmp_path / "01_x.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert code_lines(path) == 4


def test_nine_chapters_and_one_section_page():
    assert len(CHAPTERS) == 10 and len({p.name[:2] for p in CHAPTERS}) == 9


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_thin(nb):
    assert code_lines(nb) <= MAX_CODE_LINES, f"{nb.name}: {code_lines(nb)} code lines (at most {MAX_CODE_LINES})"


def test_the_chapters_average_at_most_the_limit():
    counts = {nb.stem: code_lines(nb) for nb in CHAPTERS}
    assert sum(counts.values()) / len(counts) <= MAX_CODE_LINES, counts
