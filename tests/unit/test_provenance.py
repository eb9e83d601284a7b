"""Tests of qsnn.book.provenance: what a chapter's last cell reports."""

import subprocess

import qsnn
from qsnn.book import provenance


def test_collect_records_seed_parameters_and_versions():
    """The provenance dict carries the seed, the parameters and the package versions."""
    info = provenance.collect(seed=3, parameters={"alpha": 0.5})
    assert info["seed"] == 3
    assert info["parameters"] == {"alpha": 0.5}
    assert info["versions"]["qsnn"] == qsnn.__version__
    assert info["versions"]["numpy"]


def test_git_state_outside_a_checkout_is_none(tmp_path):
    """Outside a git checkout the commit is reported as unknown rather than failing."""
    assert provenance.git_state(tmp_path) == {"commit": None, "dirty": None}


def test_git_state_names_commit_and_dirtiness(tmp_path):
    """Inside a checkout the commit is a 40-character hash; a modified tracked file makes it dirty."""
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "f.txt").write_text("a")
    git("add", "f.txt")
    git("commit", "-qm", "init")
    clean = provenance.git_state(tmp_path)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False
    (tmp_path / "f.txt").write_text("b")
    assert provenance.git_state(tmp_path)["dirty"] is True


def test_report_prints_every_field(capsys):
    """The printed report names commit, seed, parameters, platform, cpu, gpu and versions."""
    provenance.report(seed=1, parameters={"n": 2})
    out = capsys.readouterr().out
    for field in ("git commit", "seed         1", "n=2", "python", "cpu", "gpu", "numpy"):
        assert field in out


def _notebook(path, source, tags=("parameters",)):
    import json

    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# t"]},
             {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": source, "outputs": [],
              "execution_count": None}]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_parameters_come_from_the_tagged_cell_with_the_current_values(tmp_path, monkeypatch):
    """The names come from the notebook's parameters cell, the values from the namespace (a run with other
    parameters reports those); names the cell does not assign are not reported."""
    _notebook(tmp_path / "ch.ipynb", ["seed = 0  # comment\n", "widths: list = [1, 2]\n", "a, b = 1, 2\n"])
    monkeypatch.chdir(tmp_path)
    assert provenance.parameter_names("ch") == ["seed", "widths", "a", "b"]
    ns = {"seed": 7, "widths": [3], "a": 1, "b": 2, "other": 5}
    assert provenance.parameters("ch", ns) == {"seed": 7, "widths": [3], "a": 1, "b": 2}


def test_report_reads_the_notebook_from_the_current_directory(tmp_path, monkeypatch, capsys):
    """Found from the current directory (a chapter executes in the book's folder), and book/ below it."""
    (tmp_path / "book").mkdir()
    _notebook(tmp_path / "book" / "ch.ipynb", ["seed = 0\n", "n = 3\n"])
    monkeypatch.chdir(tmp_path)
    provenance.report("ch", namespace={"seed": 4, "n": 9})
    out = capsys.readouterr().out
    assert "seed         4" in out and "seed=4, n=9" in out


def test_report_reads_the_callers_globals(tmp_path, monkeypatch, capsys):
    _notebook(tmp_path / "ch.ipynb", ["seed = 0\n", "threads = 3\n"])
    monkeypatch.chdir(tmp_path)
    code = "import qsnn.book.provenance as p\nseed = 11\nthreads = 2\np.report('ch')\n"
    exec(compile(code, "<cell>", "exec"), {})
    assert "seed=11, threads=2" in capsys.readouterr().out


def test_missing_notebook_or_parameters_cell_is_a_clear_error(tmp_path, monkeypatch):
    import pytest

    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no notebook ch.ipynb"):
        provenance.parameter_names("ch")
    _notebook(tmp_path / "ch.ipynb", ["x = 1\n"], tags=())
    with pytest.raises(ValueError, match="no code cell tagged 'parameters'"):
        provenance.parameter_names("ch")


def test_git_state_defaults_to_the_current_directory(tmp_path, monkeypatch):
    """Not the package's own folder: an installed package outside any checkout still reports the book's."""
    monkeypatch.chdir(tmp_path)
    assert provenance.git_state() == {"commit": None, "dirty": None}
