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
