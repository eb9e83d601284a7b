"""The chapters read cleanly when rendered: headings numbered once, boilerplate collapsed, parameter cells
without horizontal scrolling, and the introduction's statuses pasted from the chapters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
HIDDEN = {"hide-input", "hide-cell", "remove-input", "remove-cell"}
#: The longest line of a parameters cell: the rendered code block shows about this many characters.
PARAMETER_LINE = 100


def cells(nb: Path) -> list[dict]:
    return json.loads(nb.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.name)
def test_headings_carry_no_hand_typed_numbers(nb):
    """Jupyter Book numbers the sections ("9.1."); a heading that numbers itself reads "9.1. 1. The packed file"."""
    numbered = [line for c in cells(nb) if c["cell_type"] == "markdown" for line in source(c).splitlines()
                if re.match(r"#{1,6}\s+\d+(\.\d+)*[.)]?\s", line)]
    assert not numbered, f"{nb.name}: headings with their own numbers: {numbered}"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.name)
def test_boilerplate_cells_are_collapsed(nb):
    """The imports, the cell that saves the results and the provenance cell carry a hide tag, so the narrative,
    the figures and the printed results carry the page."""
    boilerplate = []
    for c in cells(nb):
        if c["cell_type"] != "code":
            continue
        text = source(c)
        code = [l for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
        only_imports = code and all(re.match(r"\s*(import |from \S+ import |%matplotlib|\s)", l) or l.startswith(" ")
                                    for l in code[:1]) and sum(l.startswith(("import ", "from ")) for l in code) >= 3
        if only_imports or "results.save(" in text or "provenance.report(" in text:
            boilerplate.append(c)
    assert len(boilerplate) >= 3, f"{nb.name}: imports, results and provenance cells not found"
    bare = [source(c).splitlines()[0] for c in boilerplate if not tags(c) & HIDDEN]
    assert not bare, f"{nb.name}: boilerplate cells shown in full (tag them hide-input): {bare}"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.name)
def test_parameter_cells_fit_without_scrolling(nb):
    """Every line of the parameters cell fits the rendered width (comments wrapped onto their own lines)."""
    params = [c for c in cells(nb) if "parameters" in tags(c)]
    assert len(params) == 1, f"{nb.name}: one cell tagged parameters expected"
    long = [l for l in source(params[0]).splitlines() if len(l) > PARAMETER_LINE]
    assert not long, f"{nb.name}: parameter lines longer than {PARAMETER_LINE} characters: {long}"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.name)
def test_the_parameters_cell_is_shown(nb):
    """The parameters are what a reader changes: that cell is never hidden."""
    params = [c for c in cells(nb) if "parameters" in tags(c)]
    assert not tags(params[0]) & HIDDEN


# --- the introduction's status tables ---------------------------------------------------------------------

STATUS = re.compile(r"^\{glue:text\}`(?P<doc>\d\d_\w+)\.ipynb::(?P<key>status_\w+):s`$")


def status_rows() -> list[list[str]]:
    rows = []
    for line in (BOOK / "intro.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            cols = [c.strip() for c in line.strip().strip("|").split("|")]
            if cols[-1] != "Status":
                rows.append(cols)
    return rows


def test_every_status_of_the_introduction_is_pasted_from_its_chapter():
    """Each row's status is a glue reference to a ``status_*`` value of the chapter the row names, so the
    table cannot claim more than the chapter computed."""
    rows = status_rows()
    assert len(rows) >= 30
    for cols in rows:
        m = STATUS.match(cols[-1])
        assert m, f"status typed by hand in the introduction: {cols}"
        assert f"{{doc}}`{m['doc']}`" in cols[-2], f"the status comes from another chapter than the row names: {cols}"


def test_each_chapter_of_part_two_has_its_own_rows():
    """The paper's figures that several chapters run (Fig. 4(a), Fig. 2/4(b), Fig. 5) get one row per chapter:
    the digits, the emulated events and Fashion-MNIST are not pooled into one verdict."""
    rows = status_rows()
    for figure in ("Fig. 4(a)", "Fig. 5", "Fig. 2, Fig. 4(b)"):
        chapters = [re.search(r"\{doc\}`(\d\d)_", cols[2]).group(1) for cols in rows if cols[0].startswith(figure)]
        assert len(chapters) == len(set(chapters)) >= 3, (figure, chapters)
        assert all(len(re.findall(r"\{doc\}", cols[2])) == 1 for cols in rows if cols[0].startswith(figure))


def test_the_imagenet_row_is_there():
    """ResNet-18 on ImageNet has its row, with what the book does for it."""
    assert any("ResNet-18" in cols[0] for cols in status_rows())
