"""Tests of the repository's metadata: citation, lock, book configuration."""

import ast
import importlib.metadata
import json
import re
import sys
from pathlib import Path

import yaml

import qsnn

ROOT = Path(__file__).resolve().parents[2]


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
    entries = [c for part in toc["parts"] for c in part["chapters"]]
    files = [toc["root"]] + [e["file"] for c in entries for e in [c, *c.get("sections", [])]]
    for f in files:
        assert (ROOT / f"{f}.md").exists() or (ROOT / f"{f}.ipynb").exists(), f
    chapters = {f"book/{p.stem}" for p in (ROOT / "book").glob("[0-9]*.ipynb")}
    assert chapters <= set(files)


# --- the dependencies pyproject.toml declares are the ones the code imports --------------------------

PART_ONE = ("__init__.py", "spikes.py", "alexiewicz.py", "quantizer.py", "sweeps.py", "symbolic.py", "_kernels.py",
            "_validation.py", "_resets.py")
PART_TWO = ("nn", "models.py", "models", "size.py", "checkpoint.py", "train.py", "train", "bridge.py")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements) -> set[str]:
    """Distribution names of requirement strings; qsnn[x,y] stands for those extras' own names."""
    from packaging.requirements import Requirement

    project = _pyproject()
    out = set()
    for text in requirements:
        req = Requirement(text)
        if _normal(req.name) == "qsnn":
            for extra in req.extras:
                out |= _names(project["optional-dependencies"][extra])
        else:
            out.add(_normal(req.name))
    return out


def _declared(*extras: str) -> set[str]:
    project = _pyproject()
    return _names(project["dependencies"]) | set().union(*(_names(project["optional-dependencies"][e]) for e in extras))


def _imports(source: str, top_level_only: bool = False) -> set[str]:
    """Top-level names of the absolute imports in ``source`` (everywhere, or only at module level)."""
    tree = ast.parse(source)
    nodes = tree.body if top_level_only else ast.walk(tree)
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def _distributions(modules: set[str]) -> dict[str, set[str]]:
    """Third-party import name -> the installed distributions that provide it."""
    provided = importlib.metadata.packages_distributions()
    third = {m for m in modules if m not in sys.stdlib_module_names and m not in ("qsnn", "__future__")}
    return {m: {_normal(d) for d in provided.get(m, [m])} for m in third}


def _undeclared(modules: set[str], declared: set[str]) -> dict[str, set[str]]:
    return {m: d for m, d in _distributions(modules).items() if not d & declared}


def _sources(*names: str) -> dict[str, str]:
    out = {}
    for name in names:
        path = ROOT / "qsnn" / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.is_file() else []
        out.update({str(f.relative_to(ROOT)): f.read_text(encoding="utf-8") for f in files})
    return out


def test_base_install_is_part_one_and_covers_its_imports():
    """The base dependencies are Part I's maths: every import of a Part I module (also inside functions)
    is a base dependency, and torch, tonic and the book pipeline are extras, not the base."""
    base = _declared()
    assert {"numpy", "numba", "sympy"} <= base
    assert not base & {"torch", "tonic", "papermill", "jupyter-book", "matplotlib", "scikit-learn"}
    for path, source in _sources(*PART_ONE).items():
        assert _undeclared(_imports(source), base) == {}, path


def test_part_two_needs_only_the_torch_extra_at_import():
    """Part II modules import at module level only what the base and the `torch` extra install."""
    with_torch = _declared("torch")
    assert "torch" in with_torch
    sources = _sources(*PART_TWO)
    assert any(p.startswith("qsnn/nn/") for p in sources)
    for path, source in sources.items():
        assert _undeclared(_imports(source, top_level_only=True), with_torch) == {}, path


def test_every_import_of_the_package_and_the_chapters_is_declared():
    """Every third-party import anywhere in qsnn/ is in the base or an extra; the chapters' imports are in
    what the `book` extra installs."""
    everything = _declared(*_pyproject()["optional-dependencies"])
    for path, source in _sources("").items():
        assert _undeclared(_imports(source), everything) == {}, path
    book = _declared("book")
    for nb in sorted((ROOT / "book").rglob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("\n".join(line for line in "".join(c["source"]).splitlines()
                                   if not line.lstrip().startswith(("%", "!")))
                         for c in cells if c["cell_type"] == "code")
        assert _undeclared(_imports(code), book) == {}, nb.name


def test_make_and_the_lock_install_every_extra():
    """requirements/base.in names every dependency of every extra, and the lock pins each at a version its
    pyproject specifier allows: `make` (which installs the lock) keeps installing everything."""
    from packaging.requirements import Requirement

    base_in = {_normal(Requirement(l.split("#")[0]).name)
               for l in (ROOT / "requirements" / "base.in").read_text().splitlines() if l.split("#")[0].strip()}
    lock = dict(l.strip().split("==", 1) for l in (ROOT / "requirements" / "lock.txt").read_text().splitlines()
                if l.strip() and not l.startswith("#"))
    lock = {_normal(k): v for k, v in lock.items()}
    project = _pyproject()
    every = list(project["dependencies"]) + [r for reqs in project["optional-dependencies"].values() for r in reqs]
    for text in every:
        req = Requirement(text)
        if _normal(req.name) == "qsnn":
            assert set(req.extras) <= set(project["optional-dependencies"]), text
            continue
        assert _normal(req.name) in base_in, f"{req.name} is missing from requirements/base.in"
        assert _normal(req.name) in lock, f"{req.name} is missing from requirements/lock.txt"
        assert req.specifier.contains(lock[_normal(req.name)], prereleases=True), (text, lock[_normal(req.name)])
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements/lock.txt" in makefile and "--no-deps" in makefile


def test_make_run_without_chapter_prints_usage_before_any_set_up(tmp_path):
    """`make run` without CHAPTER exits 2 with its usage and creates no environment (PYTHON=false would
    make any set-up step fail with another message); with CHAPTER the set-up comes first."""
    import os
    import shutil
    import subprocess

    import pytest

    if shutil.which("make") is None:
        pytest.fail("make is needed to build and test the book")
    env = {k: v for k, v in os.environ.items() if k not in ("CHAPTER", "PARAMS", "OUT", "MAKEFLAGS", "MFLAGS")}
    venv = tmp_path / "venv"
    bare = subprocess.run(["make", "-s", "-C", str(ROOT), "run", f"VENV={venv}", "PYTHON=false"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert bare.returncode == 2
    assert "usage: make run CHAPTER=<name or number>" in bare.stderr
    assert not venv.exists()
    planned = subprocess.run(["make", "-n", "-C", str(ROOT), "run", "CHAPTER=03", f"VENV={venv}"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert "pip install" in planned.stdout and "qsnn.book chapter \"03\"" in planned.stdout
