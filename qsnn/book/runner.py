"""Run a chapter of the book with other parameters, through papermill.

Command line (``make run CHAPTER=... PARAMS=...`` calls the first form)::

    python -m qsnn.book chapter 02 --params my.yaml [--set n_trains=1000000] [--out runs/big]
    python -m qsnn.book list            # chapters and their parameters with defaults
    python -m qsnn.book refresh [01 ..] # re-execute chapters in place (maintainers: new committed outputs)
    python -m qsnn.book config --no-execute   # _config.yml with execution off (strict build of outputs)

The book is found from the current directory (the nearest folder above it holding ``_toc.yml`` and
``book/``) or given with ``--book``, so the runner works from any installation of the package.

A run folder holds the executed notebook ``<stem>.ipynb``, ``parameters.yaml`` (the values in force)
and ``results/<stem>.json`` (the chapter's headline numbers). The folder appears only when the run
succeeds: execution happens in a hidden sibling folder that is renamed at the end. A chapter that fails
keeps its executed notebook, down to the failing cell, in ``<out>.failed/``; a run stopped by Ctrl-C or
SIGTERM is removed. A run never replaces or deletes a folder it did not create.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as _dt
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from .._core.atomic import atomic_write_text
from .._core.cli import version_text
from .._core.yamlio import parse_overrides, read_mapping
from ._paths import BookNotFoundError, book_folder, find_root

__all__ = ["Chapter", "Parameter", "ChapterRunError", "ChapterTerminated", "chapters", "find_chapter", "check_parameters",
           "run_chapter", "refresh", "find_root", "main"]

#: Parameters every chapter has that the runner sets itself.
RUNNER_PARAMETERS = ("results_dir",)
KERNEL = "python3"


class ChapterRunError(ValueError):
    """A chapter run was asked for with something wrong (the message says what and how to fix it)."""


class ChapterTerminated(SystemExit):
    """The run was stopped by SIGTERM; the exit status is 128 + the signal number, as for a shell."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signum = signum


@dataclass(frozen=True)
class Chapter:
    """One chapter notebook and the parameters declared in its ``parameters`` cell."""

    path: Path

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def parameters(self) -> dict[str, Any]:
        """Parameter name -> default value (``...`` where the default is not a plain literal)."""
        return {name: p.default for name, p in self.declared.items()}

    @property
    def declared(self) -> dict[str, "Parameter"]:
        """Parameter name -> ``Parameter`` (default, declared type, help), in the cell's order."""
        return _read_parameters(self.path)


@dataclass(frozen=True)
class Parameter:
    """One line of a chapter's parameters cell: ``name[: type] = default  # help``.

    ``types`` are the types a value may have: from the annotation where there is one (``int | None``,
    ``Optional[int]``, ``float``), else from the default; empty where neither says (a default of None
    without an annotation). Names ending in ``_dir`` or ``_path`` with a default of None take a path.
    """

    name: str
    default: Any
    types: tuple[type, ...]
    help: str = ""


_TYPE_NAMES = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "tuple": tuple,
               "dict": dict, "None": type(None)}


def _annotation_types(node) -> tuple[type, ...]:
    """The types an annotation names (``int``, ``int | None``, ``Optional[int]``, ``"int"``); empty if unknown."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return ()
    if isinstance(node, ast.Constant) and node.value is None:
        return (type(None),)
    if isinstance(node, ast.Name) and node.id in _TYPE_NAMES:
        return (_TYPE_NAMES[node.id],)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _annotation_types(node.left), _annotation_types(node.right)
        return left + right if left and right else ()
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Optional":
        inner = _annotation_types(node.slice)
        return inner + (type(None),) if inner else ()
    return ()


def _read_parameters(path: Path) -> dict[str, Parameter]:
    """The assignments of the notebook's cell tagged ``parameters`` (as papermill injects after it)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise ChapterRunError(f"{path.name} has no cell tagged 'parameters'")
    source = cell.source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ChapterRunError(f"the parameters cell of {path.name} is not valid Python ({exc})") from None
    lines = source.splitlines()
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value, annotation = node.targets[0].id, node.value, None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value, annotation = node.target.id, node.value, node.annotation
        else:
            continue
        try:
            default = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            default = ...
        types = _annotation_types(annotation) if annotation is not None else ()
        if not types and default is not ... and default is not None:
            types = (type(default),)
        if not types and default is None and name.endswith(("_dir", "_path")):
            types = (str, type(None))
        line = lines[node.end_lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line[node.end_col_offset:] else ""
        out[name] = Parameter(name, default, types, comment)
    return out


def chapters(book: str | os.PathLike | None = None) -> list[Chapter]:
    """The chapter notebooks of the book, in reading order (their numbered file names).

    ``book`` is the folder of the notebooks or the book's top folder; None finds the book from the
    current directory (:func:`qsnn.book.runner.find_root`).
    """
    try:
        folder = book_folder(book)
    except BookNotFoundError as exc:
        raise ChapterRunError(str(exc)) from None
    return [Chapter(p) for p in sorted(folder.glob("[0-9]*.ipynb"))]


def find_chapter(name: str, book: str | os.PathLike | None = None) -> Chapter:
    """Resolve a chapter by stem (``02_lif_quantizer``), number (``2``, ``02``) or title part (``lif``)."""
    found = chapters(book)
    key = str(name).strip().removesuffix(".ipynb")
    exact = [c for c in found if c.stem == key]
    if not exact and key.isdigit():
        exact = [c for c in found if c.stem.split("_", 1)[0].isdigit() and int(c.stem.split("_", 1)[0]) == int(key)]
    if not exact:
        exact = [c for c in found if key and key.lower() in c.stem.lower()]
    if len(exact) == 1:
        return exact[0]
    names = ", ".join(c.stem for c in found) or "(none)"
    if not exact:
        raise ChapterRunError(f"unknown chapter {name!r}; the chapters are: {names}")
    raise ChapterRunError(f"chapter {name!r} is ambiguous: {', '.join(c.stem for c in exact)}; "
                          "give the number or the full name")


def _type_ok(param: "Parameter", value: Any) -> tuple[bool, Any]:
    """Whether ``value`` may be given to ``param`` (and the value to use)."""
    types = param.types
    if not types or param.default is ...:
        return True, value
    if value is None:
        return type(None) in types or param.default is None, value
    if bool in types and isinstance(value, bool):
        return True, value
    if int in types and isinstance(value, int) and not isinstance(value, bool):
        return True, value
    if float in types and not isinstance(value, bool):
        if isinstance(value, (int, float)):
            return True, float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 as a string
            try:
                return True, float(value)
            except ValueError:
                pass
    if (list in types or tuple in types) and isinstance(value, (list, tuple)):
        return True, list(value)
    if str in types and isinstance(value, str):
        return True, value
    if dict in types and isinstance(value, dict):
        return True, value
    return False, value


def _type_text(param: "Parameter") -> str:
    return " or ".join("None" if t is type(None) else t.__name__ for t in param.types)


def check_parameters(chapter: Chapter, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``overrides`` against the chapter's parameters cell and return the values to inject.

    Raises
    ------
    ChapterRunError
        For an unknown name (listing the known ones), a runner-owned name, or a value of the wrong type.
    """
    if not isinstance(overrides, Mapping):
        raise ChapterRunError(f"parameters must be a mapping of name: value, got {type(overrides).__name__}")
    declared = chapter.declared
    problems = []
    clean = {}
    for name, value in overrides.items():
        if name in RUNNER_PARAMETERS:
            problems.append(f"{name!r} is set by the runner (use --out to choose the run folder)")
        elif name not in declared:
            allowed = ", ".join(n for n in declared if n not in RUNNER_PARAMETERS)
            problems.append(f"unknown parameter {name!r} for {chapter.stem}; its parameters are: {allowed}")
        else:
            param = declared[name]
            ok, converted = _type_ok(param, value)
            if not ok:
                problems.append(f"parameter {name!r} must be of type {_type_text(param)} "
                                f"(default {param.default!r}), got {value!r} of type {type(value).__name__}")
            else:
                if name.endswith(("_dir", "_path")) and isinstance(converted, str) and converted:
                    converted = _resolve_path(converted, chapter)
                clean[name] = converted
    if problems:
        raise ChapterRunError("; ".join(problems))
    return clean


def _resolve_path(value: str, chapter: Chapter) -> str:
    """A ``_dir``/``_path`` value as an absolute path: relative to where the command runs when it exists
    there, else relative to the chapter's folder when it exists there (as the defaults that ``list`` shows
    are written), else relative to where the command runs (a folder the chapter will create)."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return str(path)
    for base in (Path.cwd(), chapter.path.parent):
        if (base / path).exists():
            return str((base / path).resolve())
    return str(path.resolve())


def _load_yaml(path: str | os.PathLike) -> dict:
    try:
        return read_mapping(path, "parameter file")
    except (FileNotFoundError, ValueError) as exc:
        raise ChapterRunError(str(exc)) from None


def _parse_set(items: Sequence[str]) -> dict:
    try:
        return parse_overrides(items)
    except ValueError as exc:
        raise ChapterRunError(str(exc)) from None


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def default_out(stem: str) -> Path:
    """``runs/<stem>-<UTC time to the microsecond>-<process id>``: distinct for runs started together."""
    return Path("runs") / f"{stem}-{_utc_now().strftime('%Y%m%d-%H%M%S-%f')}-{os.getpid()}"


def _claim(work: Path, out: Path) -> Path:
    """Move the finished run ``work`` to ``out``, or to ``out-2``, ``out-3``, ... if that name was taken
    meanwhile; return the folder used.

    Each name is claimed by creating it (an exclusive operation), so the rename only ever lands on the
    empty folder this run has just made: a folder of another run is never replaced.
    """
    for i in range(1, 10_000):
        target = out if i == 1 else out.with_name(f"{out.name}-{i}")
        try:
            target.mkdir()
        except FileExistsError:
            continue
        os.replace(work, target)
        return target
    raise ChapterRunError(f"no free folder name next to {out}; this run's results are in {work}")


class _AfterStop(logging.Filter):
    """Drops the execution engine's messages once Ctrl-C or SIGTERM has arrived: the kernel gets the signal too
    and may die before the run is unwound, and its death is then the stop's consequence, not news (the command
    prints one line for the stop)."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped = False

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.stopped


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """Turn SIGTERM into :class:`ChapterTerminated` (as Ctrl-C is KeyboardInterrupt), so the clean-up of the
    partial run folder and of the kernel runs, and silence papermill's log (which nbclient writes to) from the
    moment either arrives; only the main thread can take signals. A SIGINT that is ignored (a background job)
    stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    quiet = _AfterStop()

    def on_term(signum, _frame):
        quiet.stopped = True
        raise ChapterTerminated(signum)

    def on_int(signum, frame):
        quiet.stopped = True
        signal.default_int_handler(signum, frame)

    handlers = {signal.SIGTERM: on_term}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        handlers[signal.SIGINT] = on_int
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    engine_log = logging.getLogger("papermill")
    engine_log.addFilter(quiet)
    try:
        yield
    finally:
        engine_log.removeFilter(quiet)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _check_timeout(timeout) -> int | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ChapterRunError(f"timeout must be a whole number of seconds >= 1 (or none for no limit), "
                              f"got {timeout!r}")
    return timeout


def _keep_failed(work: Path, out: Path) -> Path:
    """Move the folder of a failed run to ``<out>.failed`` (or the next free name); the executed notebook in it
    shows the cell that failed. Returns the folder used."""
    try:
        return _claim(work, out.with_name(f"{out.name}.failed"))
    except (ChapterRunError, OSError):
        return work


#: Arguments of the kernel that executes a chapter. Its own log is about the kernel's plumbing, not the chapter
#: (a failing cell reaches the runner as a message): quiet, it shows neither its start-up notice about local
#: TCP sockets nor the traceback of its sockets closing when the run is stopped with Ctrl-C.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]

#: Environment variable naming the book folder of the chapter being executed (read by qsnn.experiments.locate).
BOOK_ENV = "QSNN_BOOK"


def run_chapter(name: str, parameters: Mapping[str, Any] | None = None, out: str | os.PathLike | None = None,
                book: str | os.PathLike | None = None, progress: bool = True, timeout: int | None = None) -> Path:
    """Execute one chapter with ``parameters`` into the folder ``out`` and return that folder.

    Parameters
    ----------
    name : str
        Chapter stem, number or unique part of its name.
    parameters : mapping, optional
        Overrides of the chapter's parameters cell (validated by :func:`check_parameters`).
    out : path, optional
        The run folder; it must not exist yet. Default ``runs/<chapter>-<time>``, under the current directory.
        Should another process create it while this run executes, the results go to ``<out>-2`` (the
        next free name) instead.
    book : path, optional
        Folder of the chapter notebooks (or the book's top folder); default: found from the current
        directory.
    timeout : int, optional
        Seconds allowed per cell (papermill's execution timeout); no limit by default.

    Raises
    ------
    ChapterRunError
        Bad chapter, parameters, timeout or output folder; nothing is written.
    RuntimeError
        The chapter failed while executing, or a cell ran past ``timeout``; the message names the cell
        and ``<out>.failed/``, which holds the executed notebook.
    ChapterTerminated
        SIGTERM arrived; the partial run is removed (as on Ctrl-C, which raises KeyboardInterrupt).
    """
    import papermill
    import yaml

    timeout = _check_timeout(timeout)
    chapter = find_chapter(name, book)
    values = check_parameters(chapter, parameters or {})
    out = Path(default_out(chapter.stem) if out is None else out).resolve()
    if out.exists():
        raise ChapterRunError(f"output folder {out} already exists; choose another --out or remove it")
    out.parent.mkdir(parents=True, exist_ok=True)
    with _stop_signals():
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        try:
            injected = dict(values, results_dir="results")
            # The kernel runs in the fresh folder; BOOK_ENV tells it where the book's own files are.
            os.environ[BOOK_ENV] = str(chapter.path.parent)
            papermill.execute_notebook(
                str(chapter.path), str(work / chapter.path.name), parameters=injected, kernel_name=KERNEL,
                cwd=str(work), progress_bar=progress, execution_timeout=timeout, log_output=False,
                extra_arguments=KERNEL_ARGUMENTS)
            (work / "parameters.yaml").write_text(
                yaml.safe_dump({"chapter": chapter.stem, "parameters": values}, sort_keys=False),
                encoding="utf-8")
        except papermill.PapermillExecutionError as exc:
            if exc.ename == "KeyboardInterrupt":  # Ctrl-C reached the kernel too: the run was stopped, not failed
                shutil.rmtree(work, ignore_errors=True)
                raise KeyboardInterrupt from None
            kept = _keep_failed(work, out)
            raise RuntimeError(f"{chapter.stem} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}; "
                               f"the executed notebook, down to the cell that failed, is in {kept}") from None
        except TimeoutError as exc:  # nbclient's CellTimeoutError
            kept = _keep_failed(work, out)
            raise RuntimeError(f"{chapter.stem}: a cell ran longer than --timeout {timeout} s ({exc}); "
                               f"raise the timeout or leave it out (the executed notebook is in {kept})") from None
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        # From here on the run is finished: its folder is kept whatever happens.
        used = _claim(work, out)
    if used != out:
        print(f"note: {out} was created by another process while this run executed; this run's results "
              f"are in {used}", file=sys.stderr)
    return used


def refresh(names: Sequence[str] = (), book: str | os.PathLike | None = None, timeout: int = 900) -> list[Path]:
    """Re-execute chapters in place, top to bottom, so their committed outputs are current.

    Each notebook is executed with its own defaults (cwd = the book folder) and replaced atomically.
    """
    import nbclient
    import nbformat

    selected = [find_chapter(n, book) for n in names] if names else chapters(book)
    done = []
    for chapter in selected:
        print(f"executing {chapter.path.name} ...", flush=True)
        nb = nbformat.read(chapter.path, as_version=4)
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name=KERNEL,
                                         resources={"metadata": {"path": str(chapter.path.parent)}})
        client.execute()
        for cell in nb.cells:
            cell.get("metadata", {}).pop("execution", None)
        atomic_write_text(chapter.path, nbformat.writes(nb) + "\n")
        done.append(chapter.path)
    return done


def _config_without_execution(config: str | os.PathLike | None = None) -> str:
    """``_config.yml`` (default: the book's, found from the current directory) with execution off."""
    import yaml

    if config is None:
        try:
            config = find_root() / "_config.yml"
        except BookNotFoundError as exc:
            raise ChapterRunError(str(exc)) from None
    if not Path(config).is_file():
        raise ChapterRunError(f"book configuration {config} does not exist; pass --config with the book's "
                              "_config.yml")
    data = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    data.setdefault("execute", {})["execute_notebooks"] = "off"
    return yaml.safe_dump(data, sort_keys=False)


def _describe(chapter: Chapter) -> str:
    params = chapter.parameters
    body = "\n".join(f"    {k} = {'<expression>' if v is ... else repr(v)}" for k, v in params.items()
                     if k not in RUNNER_PARAMETERS)
    return f"{chapter.stem}\n{body}"


def _seconds(text: str) -> int:
    """argparse type of --timeout: a whole number of seconds >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds >= 1, got {text!r} "
                                         "(leave --timeout out for no limit)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m qsnn.book`` (also read by the README's tests)."""
    book_help = ("folder of the chapter notebooks, or the book's top folder (default: found from the current "
                 "directory: the nearest folder holding _toc.yml and book/)")
    parser = argparse.ArgumentParser(prog="python -m qsnn.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=version_text("qsnn-book"))
    parser.add_argument("--book", default=None, help=book_help)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("chapter", help="run one chapter with other parameters")
    p_run.add_argument("name", help="chapter stem, number or unique part of its name")
    p_run.add_argument("--params", help="YAML file of name: value")
    p_run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="one parameter (YAML value), may repeat; wins over --params")
    p_run.add_argument("--out", help="run folder to create (default runs/<stem>-<UTC time>-<pid>)")
    p_run.add_argument("--timeout", type=_seconds, default=None, help="seconds allowed per cell (no limit)")
    p_run.add_argument("--no-progress", action="store_true")
    p_list = sub.add_parser("list", help="list chapters and their parameters")
    p_ref = sub.add_parser("refresh", help="re-execute chapters in place (new committed outputs)")
    p_ref.add_argument("names", nargs="*")
    p_cfg = sub.add_parser("config", help="print _config.yml with notebook execution switched off")
    p_cfg.add_argument("--no-execute", action="store_true", required=True)
    p_cfg.add_argument("--config", default=None, help="the book's _config.yml (default: found from the "
                       "current directory)")
    for p in (p_run, p_list, p_ref):
        # --book is accepted after the subcommand too; SUPPRESS keeps a value given before it.
        p.add_argument("--book", default=argparse.SUPPRESS, help=book_help)
    return parser


def _quiet_shutdown() -> None:
    """After a stop, the execution engine's asyncio tasks that were cut off report their exceptions when they are
    collected at exit ("Task exception was never retrieved"); they are the stop's consequence, so asyncio's log
    is switched off."""
    logging.getLogger("asyncio").disabled = True


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    try:
        if args.command == "chapter":
            params = _load_yaml(args.params) if args.params else {}
            params.update(_parse_set(args.set))
            out = run_chapter(args.name, params, args.out, book=args.book, progress=not args.no_progress,
                              timeout=args.timeout)
            print(f"run folder: {out}")
        elif args.command == "list":
            print("\n\n".join(_describe(c) for c in chapters(args.book)))
        elif args.command == "refresh":
            refresh(args.names, book=args.book)
        elif args.command == "config":
            sys.stdout.write(_config_without_execution(args.config))
    except ChapterRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _quiet_shutdown()
        print("error: interrupted (Ctrl-C); the partial run folder was removed", file=sys.stderr)
        return 130
    except ChapterTerminated as exc:
        _quiet_shutdown()
        print(f"error: stopped by signal {signal.Signals(exc.signum).name}; the partial run folder was removed",
              file=sys.stderr)
        return int(exc.code)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0

