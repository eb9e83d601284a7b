"""Tests of the repository's metadata: citation, lock, book configuration."""

import re
from pathlib import Path

import yaml

import qsnn

ROOT = Path(__file__).resolve().parent.parent


def test_citation_cff_parses_and_matches_package_version():
    """CITATION.cff is valid YAML with the fields GitHub needs and the package's version."""
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["version"] == qsnn.__version__
    assert cff["title"] and cff["authors"] and cff["message"]
    dois = {ref.get("doi") for ref in cff["references"]}
    assert "10.1145/3664647.3681186" in dois


def test_references_cite_both_papers():
    """references.bib holds both papers with their identifiers."""
    bib = (ROOT / "book" / "references.bib").read_text()
    assert re.search(r"@misc\{moser2023quantization,.*?2305\.08012", bib, re.S)
    assert re.search(r"@inproceedings\{wei2024qsnn,.*?10\.1145/3664647\.3681186", bib, re.S)


def test_lock_pins_every_dependency_exactly():
    """Every line of the lock is name==version; torch is 2.13.0 and Jupyter Book is 1.x."""
    lines = [l.strip() for l in (ROOT / "requirements" / "lock.txt").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    pins = dict(l.split("==", 1) for l in lines)
    assert all("==" in l for l in lines)
    assert pins["torch"] == "2.13.0"
    assert pins["jupyter-book"].startswith("1.")
    for name in ("numpy", "numba", "sympy", "nbval", "papermill", "tonic", "hypothesis"):
        assert name in pins


def test_environment_yml_installs_from_the_lock():
    """environment.yml installs the same lock as the Makefile."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-r requirements/lock.txt" in pip
    assert "lock.txt" in (ROOT / "Makefile").read_text()


def test_every_toc_entry_exists_and_every_chapter_is_in_the_toc():
    """The table of contents and the chapter files agree."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    for f in files:
        assert (ROOT / f"{f}.md").exists() or (ROOT / f"{f}.ipynb").exists(), f
    chapters = {f"book/{p.stem}" for p in (ROOT / "book").glob("[0-9]*.ipynb")}
    assert chapters <= set(files)
