"""The API reference (book/api*.md) documents every public module: one with ``__all__`` and no leading
underscore in its dotted name. A module added to the package without a place on these pages fails here,
before the strict book build would show it only as a missing page."""

import importlib
import pkgutil
import re
from pathlib import Path

import yaml

import qsnn

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "book").glob("api*.md"))


def public_modules():
    names = ["qsnn"]
    for info in pkgutil.walk_packages(qsnn.__path__, "qsnn."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return {name for name in names if hasattr(importlib.import_module(name), "__all__")}


def documented():
    found = []
    for page in PAGES:
        found += re.findall(r"^\.\. automodule:: (\S+)\s*$", page.read_text(encoding="utf-8"), re.M)
    return found


def test_every_public_module_is_on_an_api_page():
    missing = sorted(public_modules() - set(documented()))
    assert not missing, f"public modules missing from book/api*.md (add an automodule for each): {missing}"


def test_each_module_is_documented_once_and_exists():
    found = documented()
    assert len(found) == len(set(found)), sorted({m for m in found if found.count(m) > 1})
    assert set(found) <= public_modules(), sorted(set(found) - public_modules())


def test_api_pages_are_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"file:\s*(book/api\w*)", toc))
    assert PAGES and listed == {f"book/{p.stem}" for p in PAGES}


def test_api_extensions_are_configured():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    extensions = config["sphinx"]["extra_extensions"]
    for name in ("sphinx.ext.autodoc", "sphinx.ext.napoleon", "qsnn.book.apidoc"):
        assert name in extensions
    assert config["sphinx"]["config"]["nitpicky"] is True


def test_every_exported_name_has_one_home_on_the_pages():
    """Re-exported names (``qsnn.alexiewicz_norm``) lead to one documented place, in a documented module."""
    from qsnn.book.apidoc import homes

    on_pages = set(documented())
    for path, home in homes().items():
        assert home.rsplit(".", 1)[0] in on_pages, (path, home)
    assert homes()["qsnn.alexiewicz_norm"] == "qsnn.spiketrains.alexiewicz.alexiewicz_norm"
    assert homes()["qsnn.train.fit"] == "qsnn.train.loop.fit"
