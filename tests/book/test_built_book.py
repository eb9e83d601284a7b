"""Checks of the rendered book in _build/html (run by `make test` after the strict build)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"

pytestmark = pytest.mark.book


def pages():
    return sorted(HTML.rglob("*.html"))


@pytest.fixture(scope="module", autouse=True)
def built():
    if not (HTML / "index.html").is_file():
        pytest.fail("no _build/html/index.html: build the book first (make book or make build-strict)")


def test_every_chapter_is_rendered_with_figures():
    """Each chapter notebook has a page, and pages of chapters that draw figures embed PNG images."""
    for nb in sorted((ROOT / "book").glob("[0-9]*.ipynb")):
        page = HTML / "book" / f"{nb.stem}.html"
        assert page.is_file(), page
        if '"image/png"' in nb.read_text():
            assert re.search(r'<img[^>]+src="[^"]+\.png"', page.read_text()), f"no figure in {page.name}"


def test_no_page_loads_anything_from_the_network():
    """Scripts, styles and fonts come from the book itself: it reads offline."""
    remote = re.compile(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', re.I)
    for page in pages():
        text = page.read_text(errors="replace")
        hits = [m.group(0)[:120] for m in remote.finditer(text) if 'rel="canonical"' not in m.group(0)]
        assert not hits, f"{page.relative_to(HTML)} loads {hits}"


def test_math_is_typeset_by_the_bundled_mathjax():
    """Pages with math load MathJax from _static, and that file is there."""
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file()
    intro = (HTML / "book" / "intro.html").read_text()
    assert re.search(r'src="[^"]*_static/mathjax/tex-chtml\.js(\?[^"]*)?"', intro)


def _glued(notebook: Path) -> dict:
    """name -> the text/plain value a chapter's committed outputs glue (MyST-NB's hidden glue outputs)."""
    import ast
    import json

    out = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                text = o["data"]["application/papermill.record/text/plain"]
                try:
                    out[name] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    out[name] = text
    return out


def test_every_glue_reference_is_pasted():
    """No page shows a glue role unrendered, and every page whose markdown glues shows pasted values."""
    for nb in sorted((ROOT / "book").glob("[0-9]*.ipynb")):
        text = (HTML / "book" / f"{nb.stem}.html").read_text()
        assert "{glue" not in text, f"unrendered glue role in {nb.stem}.html"
        if "{glue:text}" in nb.read_text():
            assert 'class="pasted-text"' in text, f"no pasted value in {nb.stem}.html"
    assert "{glue" not in (HTML / "book" / "intro.html").read_text()


def test_the_introduction_shows_each_chapters_own_status():
    """The status column of the introduction is the chapters' glued statuses, in the order the rows name them."""
    intro_md = (ROOT / "book" / "intro.md").read_text()
    refs = re.findall(r"\{glue:text\}`(\d\d_\w+)\.ipynb::(status_\w+):s`", intro_md)
    expected = [_glued(ROOT / "book" / f"{doc}.ipynb")[key] for doc, key in refs]
    html = (HTML / "book" / "intro.html").read_text()
    pasted = [re.sub(r"&#8217;|&#x27;|&#39;|’", "'", t) for t in re.findall(r'<span class="pasted-text">([^<]*)</span>', html)]
    statuses = [t for t in pasted if not re.fullmatch(r"[\d.,]+", t)]
    # Sphinx does not know that the introduction pastes from the chapters: after a chapter's status changes, an
    # incremental build keeps the old introduction until it is built again from scratch.
    assert statuses == expected, ("the introduction shows other statuses than the chapters glue; if a chapter "
                                  "changed since the last build, remove _build/html and build again")


def test_section_headings_are_numbered_once():
    """Jupyter Book numbers the sections; no heading repeats a number of its own ("9.1. 1. The packed file")."""
    for page in sorted((HTML / "book").glob("0*.html")):
        twice = re.findall(r'<span class="section-number">[\d.]+ </span>\s*\d+[.)]\s', page.read_text())
        assert not twice, f"{page.name}: {twice}"


def test_boilerplate_cells_are_collapsed_in_the_html():
    """The cells tagged hide-input render as collapsed cells (the theme's toggle), on every chapter page."""
    for page in sorted((HTML / "book").glob("0*.html")):
        assert re.search(r'class="cell[^"]*tag_hide-input', page.read_text()), f"no collapsed cell in {page.name}"
