"""Tests of qsnn.book.runner: chapters re-run through papermill with other parameters."""

import datetime as dt
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qsnn.book import runner as run

from _processes import as_from_a_shell

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_BOOK = Path(__file__).resolve().parents[1] / "fixtures" / "book"


@pytest.fixture
def book(tmp_path):
    """A copy of the tiny fixture book, so runs never touch the repository."""
    dst = tmp_path / "book"
    shutil.copytree(FIXTURE_BOOK, dst)
    return dst


def test_chapters_are_found_by_number_stem_and_name_part(book):
    """A chapter resolves from '1', '01', its stem or a unique part of its name."""
    for key in ("1", "01", "01_tiny", "tiny", "01_tiny.ipynb"):
        assert run.find_chapter(key, book).stem == "01_tiny"


def test_unknown_chapter_lists_the_chapters(book):
    """An unknown chapter name raises and lists the chapters there are."""
    with pytest.raises(run.ChapterRunError, match="unknown chapter 'nope'.*01_tiny"):
        run.find_chapter("nope", book)


def test_parameters_are_read_from_the_parameters_cell(book):
    """The declared parameters and their defaults come from the cell tagged 'parameters'."""
    params = run.find_chapter("01", book).parameters
    assert params == {"seed": 0, "n": 3, "scale": 0.5, "label": "base", "fail": False, "pause": 0.0,
                      "results_dir": "../results"}


@pytest.mark.slow
def test_injected_parameters_take_effect(book, tmp_path):
    """A run with overrides executes the chapter with them and writes results into the run folder."""
    out = run.run_chapter("01", {"n": 7, "scale": 2, "label": "big"}, tmp_path / "r", book=book,
                          progress=False)
    got = json.loads((out / "results" / "01_tiny.json").read_text())
    assert got == {"n": 7, "scale": 2.0, "label": "big", "total": 14.0}
    assert (out / "01_tiny.ipynb").is_file()
    assert "chapter: 01_tiny" in (out / "parameters.yaml").read_text()


@pytest.mark.parametrize("overrides, message", [
    ({"nn": 1}, "unknown parameter 'nn'.*n, scale, label, fail, pause"),
    ({"n": 1.5}, "parameter 'n' must be of type int"),
    ({"n": True}, "parameter 'n' must be of type int"),
    ({"scale": "big"}, "parameter 'scale' must be of type float"),
    ({"fail": 1}, "parameter 'fail' must be of type bool"),
    ({"results_dir": "x"}, "set by the runner"),
])
def test_bad_parameters_stop_before_anything_is_written(book, tmp_path, overrides, message):
    """An unknown name or a wrong type raises a clear error and creates no run folder."""
    with pytest.raises(run.ChapterRunError, match=message):
        run.run_chapter("01", overrides, tmp_path / "r", book=book, progress=False)
    assert list(tmp_path.iterdir()) == [book]


def test_float_parameter_accepts_yaml_exponent_strings(book):
    """YAML 1.1 reads '1e-3' as a string; a float parameter accepts it as the number."""
    chapter = run.find_chapter("01", book)
    assert run.check_parameters(chapter, {"scale": "1e-3"}) == {"scale": 0.001}


@pytest.mark.slow
def test_failing_chapter_keeps_its_executed_notebook_beside_the_output(book, tmp_path):
    """A chapter that fails while executing raises, naming the error, and keeps the executed notebook in
    <out>.failed/, not in <out>."""
    runs = tmp_path / "runs"
    with pytest.raises(RuntimeError, match="asked to fail"):
        run.run_chapter("01", {"fail": True}, runs / "r", book=book, progress=False)
    assert [p.name for p in runs.iterdir()] == ["r.failed"]
    assert "asked to fail" in (runs / "r.failed" / "01_tiny.ipynb").read_text()


def test_existing_output_folder_is_not_overwritten(book, tmp_path):
    """A run never writes into an existing folder."""
    (tmp_path / "r").mkdir()
    with pytest.raises(run.ChapterRunError, match="already exists"):
        run.run_chapter("01", {}, tmp_path / "r", book=book, progress=False)


def test_cli_exit_code_and_message_for_bad_input(book, tmp_path, capsys):
    """The command line exits with 2 and a message for an unknown chapter, parameter or file."""
    assert run.main(["--book", str(book), "chapter", "zzz"]) == 2
    assert "unknown chapter" in capsys.readouterr().err
    assert run.main(["--book", str(book), "chapter", "01", "--set", "n=x", "--out", str(tmp_path / "o")]) == 2
    assert "must be of type int" in capsys.readouterr().err
    assert run.main(["--book", str(book), "chapter", "01", "--params", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_params_file_must_be_a_mapping(book, tmp_path, capsys):
    """A YAML file that is not a mapping of name: value is rejected with a message."""
    f = tmp_path / "p.yaml"
    f.write_text("- 1\n- 2\n")
    assert run.main(["--book", str(book), "chapter", "01", "--params", str(f)]) == 2
    assert "must hold a mapping" in capsys.readouterr().err


def test_config_without_execution_switches_execution_off():
    """The strict build's config is _config.yml with notebook execution off and nothing else changed."""
    import yaml

    base = yaml.safe_load((ROOT / "_config.yml").read_text())
    derived = yaml.safe_load(run._config_without_execution(ROOT / "_config.yml"))
    assert derived["execute"]["execute_notebooks"] == "off"
    derived["execute"]["execute_notebooks"] = base["execute"]["execute_notebooks"]
    assert derived == base


@pytest.mark.slow
def test_real_chapter_runs_with_injected_parameters(tmp_path):
    """Chapter 1 of the book, run through papermill, computes with the injected sizes and alphas."""
    overrides = {"n_trains": 300, "n_spikes": 12, "n_reference": 40, "alphas": [0.0, 2.0]}
    out = run.run_chapter("01", overrides, tmp_path / "run", book=ROOT / "book", progress=False)
    got = json.loads((out / "results" / "01_alexiewicz_norm.json").read_text())
    assert (got["n_trains"], got["n_spikes"], got["n_reference"]) == (300, 12, 40)
    assert got["alphas"] == ["0.0", "2.0"]
    assert got["subthreshold_ball_mismatches"] == 0


# --- finding the book -------------------------------------------------------------------------------

@pytest.fixture
def checkout(tmp_path, book):
    """A book's top folder (``_toc.yml`` and ``book/``) with a sub-folder to work in."""
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (root / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: cache\n")
    shutil.move(str(book), root / "book")
    (root / "deep" / "er").mkdir(parents=True)
    return root


def test_book_is_found_from_the_current_directory_and_above(checkout, monkeypatch):
    """From the top folder or any folder below it, the chapters and _config.yml are found."""
    for where in (checkout, checkout / "deep" / "er"):
        monkeypatch.chdir(where)
        assert run.find_root() == checkout
        assert [c.stem for c in run.chapters()] == ["01_tiny"]
        assert "execute_notebooks: 'off'" in run._config_without_execution()


def test_book_option_takes_the_notebook_folder_or_the_top_folder(checkout):
    """--book may name the chapter folder or the folder above it holding _toc.yml."""
    assert run.find_chapter("01", checkout).path == checkout / "book" / "01_tiny.ipynb"
    assert run.find_chapter("01", checkout / "book").path == checkout / "book" / "01_tiny.ipynb"


def test_outside_a_book_the_message_says_what_to_do(tmp_path, monkeypatch, capsys):
    """Run from a folder with no book above it: exit 2 and a message naming the folder and --book."""
    monkeypatch.chdir(tmp_path)
    assert run.main(["list"]) == 2
    err = capsys.readouterr().err
    assert f"no book found in {tmp_path.resolve()}" in err and "--book" in err
    assert run.main(["config", "--no-execute"]) == 2
    assert "no book found" in capsys.readouterr().err
    assert run.main(["--book", str(tmp_path / "nowhere"), "list"]) == 2
    assert "does not exist" in capsys.readouterr().err


def _site(tmp_path):
    """The package installed the way a user does, not editable: pip --target into a fresh folder."""
    src, site = tmp_path / "src", tmp_path / "site"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "qsnn", src / "qsnn", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "--target", str(site), str(src)], check=True, capture_output=True)
    return site


@pytest.mark.slow
def test_runner_works_from_a_non_editable_install(tmp_path, checkout):
    """Installed into a folder of its own, ``python -m qsnn.book list`` finds the book from the current
    directory (the repository root) and, from anywhere else, through --book."""
    site = _site(tmp_path)
    # PYTHONSAFEPATH: `python -m` must not put the current directory (the checkout's own qsnn/) first.
    env = dict(os.environ, PYTHONPATH=str(site), PYTHONSAFEPATH="1")

    def cli(*args, cwd):
        return subprocess.run([sys.executable, "-m", "qsnn.book", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=120)

    where = subprocess.run([sys.executable, "-c", "import qsnn.book.runner; print(qsnn.book.runner.__file__)"], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(site)
    listed = cli("list", cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    assert [line for line in listed.stdout.splitlines() if line and not line.startswith(" ")] == \
        [p.stem for p in sorted((ROOT / "book").glob("[0-9]*.ipynb"))]
    elsewhere = cli("--book", str(checkout / "book"), "list", cwd=tmp_path)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert elsewhere.stdout.startswith("01_tiny\n    seed = 0")
    lost = cli("list", cwd=tmp_path)
    assert lost.returncode == 2 and "no book found" in lost.stderr


# --- faults: runs started together, SIGTERM, bad options --------------------------------------------

class _FrozenClock:
    """Stands in for the datetime module: every run starts at the same microsecond."""

    timezone = dt.timezone

    class datetime:
        @staticmethod
        def now(tz=None):
            return dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=tz)


def test_default_run_folder_names_differ_between_processes(monkeypatch):
    """The default folder carries the UTC time to the microsecond and the process id."""
    monkeypatch.setattr(run, "_dt", _FrozenClock)
    name = run.default_out("01_tiny")
    assert name == Path("runs") / f"01_tiny-20260102-030405-678901-{os.getpid()}"


def _start(book, out, *extra, cwd=None):
    where = [] if out is None else ["--out", str(out)]
    return subprocess.Popen([sys.executable, "-m", "qsnn.book", "--book", str(book), "chapter", "01", "--no-progress",
                             *where, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), preexec_fn=as_from_a_shell)


@pytest.mark.slow
@pytest.mark.parametrize("explicit", [False, True])
def test_two_runs_started_together_both_keep_their_results(book, tmp_path, explicit):
    """Two chapter runs started in the same second, with the default folder or with the same --out, both
    finish with their own results: neither deletes nor replaces the other's folder."""
    procs = {n: _start(book, tmp_path / "same" if explicit else None, "--set", f"n={n}", "--set", "pause=2",
                       cwd=tmp_path) for n in (4, 5)}
    folders = {}
    for n, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        folders[n] = Path(out.strip().removeprefix("run folder: "))
    assert folders[4] != folders[5]
    for n, folder in folders.items():
        assert json.loads((folder / "results" / "01_tiny.json").read_text())["n"] == n
        assert folder.parent == (tmp_path if explicit else tmp_path / "runs")
    assert not [p for p in folders[4].parent.iterdir() if ".partial-" in p.name]
    if explicit:
        assert sorted(f.name for f in folders.values()) == ["same", "same-2"]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_chapter_leaves_nothing_behind(book, tmp_path, sig):
    """SIGTERM (as Ctrl-C) sent to a chapter run while a cell executes removes its hidden partial folder
    and stops the kernel; the exit status says which signal."""
    runs = tmp_path / "runs"
    proc = _start(book, runs / "r", "--set", "pause=60")
    deadline = time.monotonic() + 120
    # Wait until a cell executes (it leaves a marker in the run's folder): the kernel has started.
    while not list(runs.glob(".r.partial-*/executing")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert list(runs.iterdir()) == []
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + sig, err
        assert "stopped by signal SIGTERM" in err
    else:  # Python's KeyboardInterrupt: a non-zero status (the traceback is the usual Ctrl-C one)
        assert proc.returncode != 0


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "soon"])
def test_bad_timeout_is_a_message_not_a_traceback(book, value, capsys):
    """--timeout takes whole seconds >= 1: anything else exits 2 naming the option."""
    with pytest.raises(SystemExit) as stop:
        run.main(["--book", str(book), "chapter", "01", "--timeout", value])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --timeout: must be a whole number of seconds >= 1" in err and "Traceback" not in err
    with pytest.raises(run.ChapterRunError, match="timeout must be a whole number"):
        run.run_chapter("01", {}, book=book, timeout=0)


@pytest.mark.slow
def test_cell_running_past_the_timeout_is_reported(book, tmp_path, capsys):
    """A cell slower than --timeout ends the run with exit 1, a message naming the limit, and <out>.failed/."""
    runs = tmp_path / "runs"
    assert run.main(["--book", str(book), "chapter", "01", "--no-progress", "--set", "pause=30", "--timeout", "2",
                     "--out", str(runs / "r")]) == 1
    assert "ran longer than --timeout 2 s" in capsys.readouterr().err
    assert [p.name for p in runs.iterdir()] == ["r.failed"]


@pytest.mark.parametrize("item, message", [
    ("n=[1,", "--set n: '\\[1,' is not valid YAML"),
    ("n={", "is not valid YAML"),
    ("n", "--set takes NAME=VALUE"),
    ("=3", "--set takes NAME=VALUE"),
])
def test_malformed_set_is_a_message_not_a_traceback(book, tmp_path, capsys, item, message):
    """A --set that is not NAME=VALUE, or whose value is not YAML, exits 2 with a message."""
    assert run.main(["--book", str(book), "chapter", "01", "--set", item, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and "Traceback" not in err
    assert not (tmp_path / "o").exists()
