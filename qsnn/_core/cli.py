"""The console scripts ``qsnn-train``, ``qsnn-experiments`` and ``qsnn-book`` (and their ``python -m`` forms).

Each checks the extra it needs before importing it, so a base install prints which extra to install (exit
status 2) instead of a traceback, and runs the command under :func:`guard`: Ctrl-C prints one line (exit
status 130), and a reader that closes the output early (``| head``) ends the command quietly.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Sequence

from .. import __version__
from .extras import MissingExtraError, require_extra

__all__ = ["guard", "import_modules", "train", "experiments", "run", "version_text", "IMPORT_HELP"]

#: Help of ``--import`` (qsnn-train, qsnn-experiments).
IMPORT_HELP = ("a Python file or module to import first, repeatable: one that registers your own data set "
               "(qsnn.data.register_dataset) makes its name usable in the configuration")


def version_text(prog: str) -> str:
    """``<prog> <version>``, what ``--version`` prints."""
    return f"{prog} {__version__}"


def guard(prog: str, main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)`` as a command: Ctrl-C and a closed output pipe end it with one line or quietly."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): point stdout at /dev/null so that the flush at exit cannot fail
        # again, and end as a process killed by SIGPIPE would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def import_modules(specs: Sequence[str]) -> None:
    """Import each of ``specs``: a ``.py`` file (by path) or a module name (as ``import`` spells it).

    Raises
    ------
    FileNotFoundError
        If a ``.py`` file does not exist.
    ModuleNotFoundError
        If a module name cannot be found (the message names it).
    """
    import importlib
    import importlib.util
    from pathlib import Path

    for spec in specs:
        path = Path(spec).expanduser()
        if spec.endswith(".py") or path.is_file():
            if not path.is_file():
                raise FileNotFoundError(f"--import {spec}: no such file")
            name = f"_qsnn_import_{path.stem}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module  # so that its classes pickle into loader workers
            module_spec.loader.exec_module(module)
        else:
            try:
                importlib.import_module(spec)
            except ModuleNotFoundError as exc:
                if exc.name and spec.split(".")[0] == exc.name.split(".")[0]:
                    raise ModuleNotFoundError(f"--import {spec}: no module {exc.name!r} (give a .py file's path, "
                                              f"or a module on the Python path)", name=exc.name) from None
                raise


def _needs(prog: str, extra: str, what: str, argv: Sequence[str] | None) -> int | None:
    """None when ``extra`` is installed; else print why not (``--version`` still answers) and return 2 or 0."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        require_extra(extra, what)
    except MissingExtraError as exc:
        if "--version" in args:
            print(version_text(prog))
            return 0
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    return None


def train(argv: Sequence[str] | None = None) -> int:
    """``qsnn-train`` / ``python -m qsnn.train`` (:mod:`qsnn.train.cli`)."""
    status = _needs("qsnn-train", "torch", "training (qsnn-train)", argv)
    if status is not None:
        return status
    from ..train.cli import main  # after the extras check, which names a missing torch

    return guard("qsnn-train", main, argv)


def experiments(argv: Sequence[str] | None = None) -> int:
    """``qsnn-experiments`` / ``python -m qsnn.experiments`` (:mod:`qsnn.experiments.__main__`)."""
    status = _needs("qsnn-experiments", "torch", "experiment grids (qsnn-experiments)", argv)
    if status is not None:
        return status
    from ..experiments.__main__ import main  # after the extras check, which names a missing torch

    return guard("qsnn-experiments", main, argv)


def run(argv: Sequence[str] | None = None) -> int:
    """``qsnn-book`` / ``python -m qsnn.book`` (:mod:`qsnn.book.runner`)."""
    status = _needs("qsnn-book", "book", "running the book's chapters (qsnn-book)", argv)
    if status is not None:
        return status
    from ..book.runner import main  # after the extras check, which names a missing torch

    return guard("qsnn-book", main, argv)
