"""The prose quotes what the cells computed: every measured number in the chapters' markdown and in the
introduction is a MyST-NB glue reference, never typed by hand.

The rule, applied to every markdown cell of chapters 1-9 and to book/intro.md:

* outside math, code and roles, a *quantitative token* is one of: a decimal number (``0.985``), a
  percentage (``97 %``), a ratio (``4.4x``, ``30.8×``), a duration (``10 s``, ``2 minutes``, ``1.5 hours``)
  or a number with a thousands separator (``1,308``);
* inside math, a number with two or more decimals (``$[-5.08, +3.97]$``): intervals and measured values do
  not hide in math, while the constants of definitions and constructed examples (``$0.9$``,
  ``$1.5\\vartheta$``) may stand there;
* every such token must come from a glue reference (``{glue:text}`name:.2f```), or be on the explicit
  allow-list below: constants cited from the papers or the literature (their cell must carry a citation), and
  fixed facts of the data sets and of the code (each with its reason).

Plain small integers (Fig. 5, 3 seeds, 8 bits, T = 4) are configuration and are not matched. The allow-list
is exact: an entry that no longer occurs fails the test, so it cannot outlive the text it excuses.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
PAGES = CHAPTERS + [BOOK / "intro.md"]

# --- what is not prose ------------------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$", re.S | re.M)
DISPLAY_MATH = re.compile(r"\$\$.*?\$\$(?:[ \t]*\([\w:.-]+\))?", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$", re.S)
GLUE = re.compile(r"\{glue(?::\w+)?\}`([^`]*)`")
ROLE = re.compile(r"\{[\w:.-]+\}`[^`]*`")
CODE = re.compile(r"`[^`]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)|<https?://[^>]*>|https?://\S+")
LABEL = re.compile(r"^\([\w:.-]+\)=[ \t]*$", re.M)
COMMENT = re.compile(r"<!--.*?-->", re.S)

# --- what counts as a quantitative token --------------------------------------------------------------------

_NUM = r"\d+(?:\.\d+)?"
QUANTITY = re.compile(
    r"\d+\.\d+"  # a decimal number
    rf"|{_NUM}\s*%"  # a percentage
    rf"|{_NUM}\s*(?:x|×)(?![\w×])"  # a ratio: 4.4x (not 8x8 or 2x48x48)
    rf"|{_NUM}\s*(?:ms|s|sec|seconds?|min|minutes?|h|hours?)\b"  # a duration
    r"|\d{1,3}(?:,\d{3})+"  # a count with a thousands separator
)
MATH_QUANTITY = re.compile(r"\d+\.\d{2,}")

# --- the allow-list: (literal as it stands in the prose, kind, reason) ---------------------------------------
# kind "cited": a constant from a paper or the literature; its markdown cell must carry a {cite} role.
# kind "fixed": a fact of a data set or of the code, not a measurement of this book.

ALLOWED: dict[str, list[tuple[str, str, str]]] = {
    "02_lif_quantizer.ipynb": [
        ("0.01\\vartheta", "fixed", "the lower end of the perturbation sizes drawn in the quasi-isometry cell"),
    ],
    "03_reset_variants.ipynb": [
        ("5 %, median, 95 %", "fixed", "the quantiles the concentration table prints"),
    ],
    "04_qsnn_building_blocks.ipynb": [
        ("36.91 MB", "cited", "VGG-11 on CIFAR-10, full precision, as tabulated by Liang et al. (BSO)"),
        ("1.20 MB", "cited", "VGG-11 on CIFAR-10, Q-SNN, as tabulated by Liang et al. (BSO)"),
        ("~96 %", "cited", "the reduction the Q-SNN paper states"),
    ],
    "05_training_wsdr.ipynb": [
        ("0.25", "fixed", "the largest value of (r - 1/2)^2, a property of the formula"),
    ],
    "06_event_data.ipynb": [
        ("79.10 %", "cited", "Q-SNN on CIFAR10-DVS, as tabulated by Liang et al. (BSO)"),
        ("1.20 MB", "cited", "VGG-11 Q-SNN size, as tabulated by Liang et al. (BSO)"),
        ("73.90 %", "cited", "full-precision VGG-11 on CIFAR10-DVS, as tabulated by Liang et al. (BSO)"),
    ],
    "07_fashion_mnist.ipynb": [
        ("60,000", "fixed", "training images of Fashion-MNIST"),
        ("10,000", "fixed", "test images of Fashion-MNIST"),
    ],
    "07_fashion_mnist_sweeps.ipynb": [
        ("60,000", "fixed", "training images of Fashion-MNIST"),
    ],
    "09_deployment.ipynb": [
        ("36.91 MB", "cited", "VGG-11 on CIFAR-10, full precision, as tabulated by Liang et al. (BSO)"),
        ("1.20 MB", "cited", "VGG-11 on CIFAR-10, Q-SNN, as tabulated by Liang et al. (BSO)"),
    ],
    "intro.md": [],
}


#: Allowed on every page (not checked for staleness): the confidence level every interval of the book uses.
ALLOWED_EVERYWHERE = [("95 % interval", "fixed", "the confidence level of the book's intervals")]


def markdown_cells(page: Path) -> list[str]:
    """The markdown of a page: one string per markdown cell of a notebook, the whole file for a .md page."""
    if page.suffix == ".md":
        return [page.read_text(encoding="utf-8")]
    cells = json.loads(page.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]


def split_prose(text: str) -> tuple[str, list[str], list[str]]:
    """``(prose, math, glue references)`` of one markdown cell: code, roles, links and labels removed from
    the prose; display and inline math collected apart; the glue roles' contents collected."""
    glued = GLUE.findall(text)
    math: list[str] = []

    def keep_math(m):
        math.append(m.group(0))
        return " "

    t = COMMENT.sub(" ", text)
    t = FENCE.sub(" ", t)
    t = DISPLAY_MATH.sub(keep_math, t)
    t = ROLE.sub(" ", t)
    t = CODE.sub(" ", t)
    t = INLINE_MATH.sub(keep_math, t)
    t = LINK_TARGET.sub(" ", t)
    t = LABEL.sub(" ", t)
    return t, math, glued


def unglued_quantities(page: Path) -> tuple[list[str], Counter]:
    """The quantitative tokens of a page that are neither glued nor allowed, and how often each allow-list
    entry was used."""
    allowed = ALLOWED.get(page.name, []) + ALLOWED_EVERYWHERE
    used: Counter = Counter()
    found = []
    for cell in markdown_cells(page):
        prose, math, _ = split_prose(cell)
        cited = "{cite" in cell
        for literal, kind, _reason in allowed:
            for part in ("prose", "math"):
                text = prose if part == "prose" else " ".join(math)
                n = text.count(literal)
                if n and kind == "cited":
                    assert cited, f"{page.name}: the cited constant {literal!r} stands in a cell without a citation"
                used[literal] += n
            prose = prose.replace(literal, " ")
            math = [m.replace(literal, " ") for m in math]
        found += [f"{m.group(0)!r} in: ...{prose[max(0, m.start() - 60):m.end() + 30]!r}..."
                  for m in QUANTITY.finditer(prose)]
        for m in math:
            found += [f"{x!r} in math: {m[:90]!r}" for x in MATH_QUANTITY.findall(m)]
    return found, used


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_measured_number_in_the_prose_is_glued(page):
    """Every decimal, percentage, ratio, duration and large count in the markdown is a glue reference or an
    allowed constant (cited, or a fixed fact with its reason)."""
    found, _ = unglued_quantities(page)
    assert not found, f"{page.name}: numbers typed by hand (glue them from the cell that computes them):\n" + \
        "\n".join(found)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_allowed_constant_is_still_used(page):
    """An allow-list entry that no longer occurs in its page is stale and must go."""
    _, used = unglued_quantities(page)
    stale = [lit for lit, _, _ in ALLOWED.get(page.name, []) if not used[lit]]
    assert not stale, f"{page.name}: allow-list entries not found in the page: {stale}"


def test_the_allow_list_names_existing_pages():
    """Every page the allow-list names exists."""
    assert set(ALLOWED) <= {p.name for p in PAGES}


def test_the_rule_catches_what_it_is_meant_to_catch():
    """The token rule flags hand-typed measurements and leaves math constants, glue and code alone."""
    def flagged(text):
        prose, math, _ = split_prose(text)
        return [m.group(0) for m in QUANTITY.finditer(prose)] + [x for m in math for x in MATH_QUANTITY.findall(m)]

    assert flagged("reaches 96.57 % in 10 s, 4x smaller, 1,308 events, 97 %") == ["96.57", "10 s", "4x", "1,308",
                                                                                   "97 %"]
    assert flagged("difference $-0.56$ points in $[-5.08, +3.97]$") == ["0.56", "5.08", "3.97"]
    assert flagged("{glue:text}`acc:.2f` % and `n_trains=100000` and $1.5\\vartheta$, 8x8 images, Fig. 4(a)") == []
    assert flagged("2 minutes of one core, 3 hours") == ["2 minutes", "3 hours"]


# --- glue references resolve -----------------------------------------------------------------------------


def glued_names(notebook: Path) -> set[str]:
    """The names a notebook's committed outputs glue (MyST-NB's ``metadata.scrapbook.name``)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return {o["metadata"]["scrapbook"]["name"] for c in cells if c["cell_type"] == "code"
            for o in c.get("outputs", []) if "scrapbook" in o.get("metadata", {})}


def references(page: Path) -> list[tuple[str | None, str]]:
    """``(document or None, key)`` of every glue reference in a page's markdown."""
    out = []
    for cell in markdown_cells(page):
        for ref in GLUE.findall(cell):
            doc, _, rest = ref.rpartition("::")
            out.append((doc or None, rest.split(":", 1)[0]))
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_glue_reference_names_a_glued_value(page):
    """Each ``{glue:text}`` names a value the page's own executed cells glue, or, with ``doc.ipynb::name``,
    one that the named chapter glues (the strict build would fail on a missing one)."""
    missing = []
    for doc, name in references(page):
        source = page if doc is None else BOOK / doc
        assert source.suffix == ".ipynb", f"{page.name}: glue from {doc!r} must name the notebook with .ipynb"
        if name not in glued_names(source):
            missing.append(f"{doc or page.name}::{name}")
    assert not missing, f"{page.name}: glue references to values nobody glues: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_glue_roles_are_well_formed(page):
    """A glue role holds a name and a format spec and nothing else: a stray brace or a space means the role
    swallowed the text up to the next backtick."""
    bad = [ref for cell in markdown_cells(page) for ref in GLUE.findall(cell) if not re.fullmatch(r"[\w.:,+-]+", ref)]
    assert not bad, f"{page.name}: malformed glue roles: {bad}"
    for cell in markdown_cells(page):
        assert cell.count("{glue") == len(GLUE.findall(cell)), f"{page.name}: a glue role without its braces: {cell}"


def test_cross_page_references_carry_a_format_spec():
    """``{glue:text}`doc.ipynb::key:s``` needs its format spec: without it MyST-NB 1.4 splits the key at the
    last colon of ``::`` and finds nothing."""
    for page in PAGES:
        for cell in markdown_cells(page):
            for ref in GLUE.findall(cell):
                if "::" in ref:
                    assert re.fullmatch(r"[\w.-]+\.ipynb::[\w.-]+:[^:]+", ref), f"{page.name}: {ref!r}"
