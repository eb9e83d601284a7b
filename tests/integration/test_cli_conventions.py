"""The command lines follow the usual conventions: --version, a missing extra named (exit 2), quiet ends on a
closed pipe and on Ctrl-C, --book anywhere, parameters checked before a chapter runs, and no empty folder
left by a run that failed before it began."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import nbformat
import pytest

from qsnn import __version__
from qsnn.book import runner as run

from _processes import as_from_a_shell

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_BOOK = Path(__file__).resolve().parents[1] / "fixtures" / "book"
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def _python(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=ENV,
                          timeout=timeout)


@pytest.fixture
def book(tmp_path):
    """The fixture book with two more parameters: an annotated one whose default is None, and a path."""
    dst = tmp_path / "book"
    shutil.copytree(FIXTURE_BOOK, dst)
    path = dst / "01_tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += '\nlimit: int | None = None  # an int or None\ninput_path = None  # a path'
    nbformat.write(nb, path)
    return dst


@pytest.mark.parametrize("module, prog", [("qsnn.train", "qsnn-train"), ("qsnn.experiments", "qsnn-experiments"),
                                          ("qsnn.book", "qsnn-book")])
def test_each_command_line_prints_its_version(module, prog):
    """--version prints '<prog> <version>' and exits 0."""
    done = _python("-m", module, "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"{prog} {__version__}"


def test_the_three_console_scripts_are_declared():
    """pyproject.toml installs qsnn-train, qsnn-book and qsnn-experiments."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"qsnn-train", "qsnn-book", "qsnn-experiments"} <= set(scripts)


@pytest.mark.parametrize("hidden, command, extra", [
    ("torch", "from qsnn._core.cli import train; sys.exit(train(['--set', 'epochs=1']))", "torch"),
    ("torch", "from qsnn._core.cli import experiments; sys.exit(experiments(['status', 'x.yaml']))", "torch"),
    ("papermill", "from qsnn._core.cli import run; sys.exit(run(['list']))", "book"),
    ("tonic", "from qsnn._core.cli import train; sys.exit(train(['--set', 'dataset=nmnist', '--set', 'data_dir=/nowhere', "
              "'--output-dir', sys.argv[1]]))", "events"),
])
def test_a_missing_extra_is_named_with_exit_2(hidden, command, extra, tmp_path):
    """Without the extra's module (hidden here as if not installed), the command says which extra to install."""
    code = f"import sys; sys.modules[{hidden!r}] = None; {command}"
    done = _python("-c", code, tmp_path / "out")
    assert done.returncode == 2, done.stderr
    assert f'pip install "qsnn[{extra}]"' in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("module", ["qsnn.nn", "qsnn.deploy"])
def test_importing_part_two_without_torch_names_the_extra(module):
    """import qsnn.nn (or qsnn.deploy) without PyTorch raises a ModuleNotFoundError that names the torch extra."""
    done = _python("-c", f"import sys; sys.modules['torch'] = None\ntry:\n import {module}\n"
                         "except ModuleNotFoundError as e:\n print(e)")
    assert f'{module} needs the "torch" extra' in done.stdout and 'pip install "qsnn[torch]"' in done.stdout


def test_a_closed_pipe_ends_the_listing_quietly():
    """qsnn-book list | head -1: the first line, and nothing on stderr."""
    done = subprocess.run(f"{shlex_quote(sys.executable)} -m qsnn.book --book {shlex_quote(str(ROOT))} list | head -1",
                          shell=True, capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300)
    assert done.stdout.strip() == "01_alexiewicz_norm" and done.stderr == ""


def shlex_quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def test_book_works_after_the_subcommand(book):
    """--book may follow the subcommand."""
    done = _python("-m", "qsnn.book", "list", "--book", book)
    assert done.returncode == 0 and done.stdout.startswith("01_tiny")


def test_a_book_folder_without_a_book_says_so(tmp_path):
    """--book naming a folder with no book exits 2 saying it is not a book."""
    done = _python("-m", "qsnn.book", "--book", tmp_path, "list")
    assert done.returncode == 2 and "is not a book" in done.stderr


def test_a_parameter_whose_default_is_none_is_checked_by_its_annotation(book, tmp_path):
    """limit: int | None = None refuses 'abc' before anything runs, and takes 5 or null."""
    done = _python("-m", "qsnn.book", "--book", book, "chapter", "01", "--set", "limit=abc", "--out", tmp_path / "o")
    assert done.returncode == 2 and "parameter 'limit' must be of type int or None" in done.stderr
    assert not (tmp_path / "o").exists()
    chapter = run.find_chapter("01", book)
    assert run.check_parameters(chapter, {"limit": 5, "input_path": None}) == {"limit": 5, "input_path": None}


def test_a_path_parameter_resolves_as_the_defaults_are_written(book, tmp_path, monkeypatch):
    """A relative _path found beside the chapters (as defaults are written) resolves there; one found where the
    command runs resolves there; a new one is taken relative to where the command runs."""
    chapter = run.find_chapter("01", book)
    (book / "beside.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert run.check_parameters(chapter, {"input_path": "beside.txt"})["input_path"] == str(book / "beside.txt")
    (tmp_path / "here.txt").write_text("x")
    assert run.check_parameters(chapter, {"input_path": "here.txt"})["input_path"] == str(tmp_path / "here.txt")
    assert run.check_parameters(chapter, {"input_path": "new.txt"})["input_path"] == str(tmp_path / "new.txt")


@pytest.mark.slow
def test_a_chapter_run_does_not_show_the_kernel_transport_warning(book, tmp_path):
    """The kernel's 'running over TCP without encryption' notice does not reach the user."""
    done = _python("-m", "qsnn.book", "--book", book, "chapter", "01", "--no-progress", "--out", tmp_path / "r")
    assert done.returncode == 0, done.stderr
    assert "without encryption" not in done.stderr


@pytest.mark.slow
def test_ctrl_c_during_a_chapter_prints_one_line(book, tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) ends the run with exit 130 and one
    line on stderr; no folder is left."""
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "qsnn.book", "--book", str(book), "chapter", "01", "--no-progress",
                             "--out", str(runs / "r"), "--set", "pause=60"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, start_new_session=True,
                            preexec_fn=as_from_a_shell)
    deadline = time.monotonic() + 120
    # Wait until a cell executes (it leaves a marker in the run's folder): the kernel has started.
    while not list(runs.glob(".r.partial-*/executing")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err, err
    assert list(runs.iterdir()) == []


@pytest.mark.slow
def test_a_training_run_that_fails_before_its_first_epoch_leaves_no_folder(tmp_path):
    """qsnn-train with missing data exits 2 and leaves no empty output folder (nor the folders above it)."""
    done = _python("-m", "qsnn.train", "--set", "dataset=mnist", "--set", f"data_dir={tmp_path / 'nodata'}",
                   "--output-dir", tmp_path / "out" / "train1", "--no-progress")
    assert done.returncode == 2, done.stderr
    assert not (tmp_path / "out").exists()


def test_build_outputs_of_pip_install_are_ignored_by_git():
    """pip install . writes build/ and qsnn.egg-info/ into the tree; git ignores both."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", "check-ignore", "build/lib/qsnn/__init__.py", "qsnn.egg-info/PKG-INFO"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.split() == ["build/lib/qsnn/__init__.py", "qsnn.egg-info/PKG-INFO"]


def test_the_readme_says_checkpoints_need_checkpoint_dir():
    """The README's sentence on per-epoch checkpoints names checkpoint_dir."""
    readme = (ROOT / "README.md").read_text()
    sentence = next(s for s in re.split(r"(?<=\.)\s", readme) if "checkpoint every epoch" in s)
    assert "checkpoint_dir" in sentence


def test_after_ctrl_c_the_engines_messages_are_dropped(caplog):
    """The kernel gets Ctrl-C too and may die before the run unwinds; nbclient then logs its death to papermill's
    logger, which the stop silences (the command prints one line); the handlers are restored afterwards."""
    import logging

    from qsnn.book import runner

    log = logging.getLogger("papermill")
    caplog.set_level(logging.INFO, logger="papermill")
    with runner._stop_signals():
        log.error("before the stop")
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)
        except KeyboardInterrupt:
            log.error("Kernel died while waiting for execute reply.")  # as nbclient logs it while the run unwinds
    assert [r.getMessage() for r in caplog.records if r.name == "papermill"] == ["before the stop"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not log.filters
    log.error("after the run")  # a later run's messages get through again
    assert [r.getMessage() for r in caplog.records if r.name == "papermill"][-1] == "after the run"
