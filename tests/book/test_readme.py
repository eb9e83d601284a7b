"""The README's commands run as written: each one is checked against what it calls.

``make`` commands name existing targets (``make run``: the chapter and its parameter file's names against
the chapter's parameters cell); ``python -m qsnn.book`` commands parse with the runner's own command
line and name real chapters and parameters (``list`` and ``config`` are run); ``python -m qsnn.train``
and ``torchrun`` commands use options the trainer has, and their configuration files with the ``--set``
values make a valid training configuration; ``pip install`` names extras pyproject.toml defines; the
Python example is executed.
"""

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from qsnn.book import runner as run
from qsnn._core.yamlio import apply_overrides, parse_overrides, read_mapping

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYTHONS = (".venv/bin/python", "python", "python3")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def _shell_lines() -> list[tuple[str, str]]:
    """(command, comment) of every line of the README's bash blocks; comment-only lines join the one above."""
    out: list[list[str]] = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            if command.strip():
                out.append([command.strip(), comment.strip()])
            elif out and comment.strip():
                out[-1][1] += "\n" + comment.strip()
    return [(c, k) for c, k in out]


def _inline_commands() -> list[str]:
    """Commands written inline in the prose: `make ...` and `python -m qsnn...` spans."""
    spans = re.findall(r"`([^`\n]+)`", "\n".join(re.split(r"```.*?```", README, flags=re.S)))
    return [s for s in spans if s.startswith("make ") or any(s.startswith(f"{p} -m qsnn") for p in PYTHONS)]


def _commands(prefix_test) -> list[tuple[str, str]]:
    found = [(c, k) for c, k in _shell_lines() if prefix_test(c)]
    found += [(c, "") for c in _inline_commands() if prefix_test(c)]
    return found


def _module_args(command: str, module: str) -> list[str] | None:
    """The arguments after ``<python> -m <module>`` (or ``torchrun [options] -m <module>``), else None."""
    words = shlex.split(command)
    if words[0] == "torchrun":
        i = words.index("-m")
        return words[i + 2:] if words[i + 1] == module else None
    if words[0] in PYTHONS and words[1:3] == ["-m", module]:
        return words[3:]
    return None


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*):(?!=)", text, re.M))


MAKE = _commands(lambda c: c.startswith("make "))
RUNNER = [(c, k) for c, k in _commands(lambda c: True) if _module_args(c, "qsnn.book") is not None]
TRAIN = [(c, k) for c, k in _commands(lambda c: True) if _module_args(c, "qsnn.train") is not None]


def test_the_readme_has_the_commands_this_file_checks():
    """Each family is present (a README rewritten without them must rewrite this test too)."""
    assert {"make book", "make test"} <= {c for c, _ in MAKE}
    assert any(c.startswith("make run CHAPTER=") for c, _ in MAKE)
    assert len(RUNNER) >= 3 and len(TRAIN) >= 3


@pytest.mark.parametrize("command", sorted({c for c, _ in MAKE}))
def test_make_commands_name_existing_targets(command):
    """Every word of a make command that is not VAR=value is a target of the Makefile."""
    targets = [w for w in shlex.split(command)[1:] if "=" not in w]
    assert targets and set(targets) <= _make_targets(), command


def _file_parameters(comment: str, name: str) -> dict:
    """The ``name:`` example file written in a command's comment (``# my.yaml:  key: value`` lines)."""
    text = comment.split(f"{name}:", 1)[1]
    return {k: v for line in text.splitlines() if line.strip()
            for k, v in parse_overrides([line.strip().replace(":", "=", 1).replace(" ", "")]).items()}


@pytest.mark.parametrize("command, comment", [m for m in MAKE if m[0].startswith("make run")])
def test_make_run_examples_match_the_chapter(command, comment):
    """make run: CHAPTER resolves to one chapter, and the example parameter file's names and values are
    accepted by that chapter's parameters cell."""
    assigned = dict(w.split("=", 1) for w in shlex.split(command)[1:] if "=" in w)
    chapter = run.find_chapter(assigned["CHAPTER"], ROOT / "book")
    if "PARAMS" in assigned:
        values = _file_parameters(comment, assigned["PARAMS"])
        assert values, f"the README shows no content for {assigned['PARAMS']}"
        run.check_parameters(chapter, values)


@pytest.mark.parametrize("command", [c for c, _ in RUNNER])
def test_runner_commands_parse_and_name_real_chapters_and_parameters(command, tmp_path, capsys):
    """python -m qsnn.book: parses with the runner's options; a chapter command names a chapter and
    parameters it has; list and config are cheap, so they are run."""
    args = _module_args(command, "qsnn.book")
    parsed = run.build_parser().parse_args(args)
    book = ROOT / "book"
    if parsed.command == "chapter":
        chapter = run.find_chapter(parsed.name, book)
        run.check_parameters(chapter, parse_overrides(parsed.set))
        if parsed.params:
            run.check_parameters(chapter, read_mapping(ROOT / parsed.params))
    elif parsed.command == "refresh":
        assert all(run.find_chapter(n, book) for n in parsed.names)
    else:
        assert run.main(["--book", str(ROOT)] + args if parsed.book is None else args) == 0
        assert capsys.readouterr().out


@pytest.fixture(scope="module")
def train_help() -> str:
    done = subprocess.run([sys.executable, "-m", "qsnn.train", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("command", [c for c, _ in TRAIN])
def test_train_commands_use_real_options_and_make_a_valid_configuration(command, train_help):
    """python -m qsnn.train / torchrun -m qsnn.train: every option is one the trainer lists, and the
    configuration file with the --set values is a valid TrainConfig (no training is started)."""
    from qsnn.train import TrainConfig

    args = _module_args(command, "qsnn.train")
    options = {a.split("=", 1)[0] for a in args if a.startswith("--")}
    assert all(re.search(rf"(^|\s){re.escape(o)}\b", train_help) for o in options), options
    values = {}
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    if "--config" in args:
        values = read_mapping(ROOT / args[args.index("--config") + 1], "configuration file")
    apply_overrides(values, parse_overrides(sets))
    TrainConfig.from_dict(values)


def test_inline_train_settings_are_configuration_keys():
    """`--set key=value` written in the prose names configuration keys of the trainer."""
    from qsnn.train import TrainConfig

    keys = re.findall(r"`--set ([\w.]+)=", README)
    assert keys
    for key in keys:
        assert key.split(".")[0] in TrainConfig.field_names(), key


def test_pip_install_lines_name_extras_that_exist():
    """pip install .[a,b] uses extras defined in pyproject.toml; plain `pip install .` is the base."""
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    lines = [c for c, _ in _shell_lines() if c.startswith("pip install")]
    assert "pip install ." in lines
    for line in lines:
        target = shlex.split(line)[-1]
        named = set(re.findall(r"\[(.*)\]", target)[0].split(",")) if "[" in target else set()
        assert named <= extras, line


def test_package_table_names_modules_that_exist():
    """Every qsnn.<module> in the README's package table is a module or package of qsnn/."""
    section = README.split("## The package", 1)[1].split("\n## ", 1)[0]
    table = next(chunk for chunk in section.split("\n\n") if chunk.startswith("| module"))
    names = set(re.findall(r"`qsnn\.(\w+)`", table))
    assert names
    for name in names:
        assert (ROOT / "qsnn" / f"{name}.py").is_file() or (ROOT / "qsnn" / name / "__init__.py").is_file(), name


def test_python_example_runs_and_prints_what_the_comments_say():
    """The Part I example executes; its commented results hold (spikes 1 at t = 1 and 3 at t = 2; error 0.8)."""
    code = next(b for b in _blocks("python") if "qsnn.lif(" in b)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    qsnn = scope["qsnn"]
    out = qsnn.lif(scope["eta"], threshold=1.0, alpha=0.0, reset="mod")
    assert list(out.times) == [1, 2] and list(out.amplitudes) == [1, 3]
    assert qsnn.quantization_error(scope["eta"], threshold=1.0, alpha=0.0, reset="mod") == pytest.approx(0.8)


EXPERIMENT_COMMANDS = [c for c, _ in _commands(lambda c: bool(_module_args(c, "qsnn.experiments")))]


def test_the_readme_shows_the_experiment_commands():
    """The README shows status, summary and run of a committed grid."""
    verbs = {_module_args(c, "qsnn.experiments")[0] for c in EXPERIMENT_COMMANDS}
    assert {"status", "summary", "run"} <= verbs


@pytest.mark.parametrize("command", EXPERIMENT_COMMANDS)
def test_experiment_commands_run_or_parse(command, tmp_path):
    """status and summary run as written; run parses and names an existing grid (not trained here)."""
    from qsnn.experiments.__main__ import build_parser

    args = _module_args(command, "qsnn.experiments")
    parsed = build_parser().parse_args(args)
    assert (ROOT / parsed.spec).is_file(), parsed.spec
    if args[0] in ("status", "summary"):
        done = subprocess.run([sys.executable, "-m", "qsnn.experiments", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip()
