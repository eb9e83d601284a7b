"""Provenance of a chapter's execution: what ran, where, with which versions and parameters.

The last cell of every chapter calls ``report("<notebook stem>")``; nbval ignores its output (it
legitimately varies between machines), the rendered book shows it. The parameters are those the chapter's
cell tagged ``parameters`` assigns (papermill's convention), read from the notebook file, with the values
they have in the kernel now (so a run with other parameters reports those). The notebook and the git
checkout are found from the current directory, where Jupyter, papermill and nbval execute a chapter, so
the report works from any installation of the package.
"""

from __future__ import annotations

import ast
import datetime as _dt
import importlib.metadata as _md
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from .. import __version__

__all__ = ["collect", "report", "git_state", "parameter_names", "parameters"]

#: Packages whose versions decide the numbers a chapter prints.
PACKAGES = ("qsnn", "numpy", "numba", "scipy", "sympy", "matplotlib", "scikit-learn", "torch", "tonic",
            "papermill", "jupyter-book")


def git_state(path: str | os.PathLike | None = None) -> dict:
    """Commit hash and dirtiness of the git checkout holding ``path`` (default: the current directory;
    ``None`` values outside a checkout)."""
    path = Path.cwd() if path is None else path
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True,
                                 timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _version(dist: str) -> str | None:
    try:
        return _md.version(dist)
    except _md.PackageNotFoundError:
        return None


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu() -> str | None:
    # Only ask torch if the chapter already imported it: Part I chapters never pay for the import.
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))


def _notebook_path(notebook: str | os.PathLike) -> Path:
    path = Path(notebook)
    if path.suffix != ".ipynb":
        path = path.with_name(path.name + ".ipynb")
    for candidate in (path, Path("book") / path):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no notebook {path} in the current directory {Path.cwd().name!r} or its book/ "
                            f"folder; execute the chapter from the book's folder or pass the notebook's path")


def parameter_names(notebook: str | os.PathLike) -> list[str]:
    """Names assigned by the cell tagged ``parameters`` of ``notebook`` (a path, or a stem such as
    ``"05_training_wsdr"`` looked up in the current directory and in ``book/``), in order.

    Raises
    ------
    FileNotFoundError
        If the notebook is not found.
    ValueError
        If it has no cell tagged ``parameters``.
    """
    path = _notebook_path(notebook)
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            names: list[str] = []
            for node in ast.parse(source).body:
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and n.id not in names:
                            names.append(n.id)
            return names
    raise ValueError(f"{path} has no code cell tagged 'parameters'")


def parameters(notebook: str | os.PathLike, namespace: Mapping[str, Any] | None = None) -> dict:
    """``{name: value}`` of the parameters of ``notebook`` (:func:`parameter_names`) as ``namespace``
    holds them now (default: the caller's globals, i.e. the kernel's namespace in a chapter)."""
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    return {name: namespace[name] for name in parameter_names(notebook) if name in namespace}


def collect(seed: Any = None, parameters: Mapping[str, Any] | None = None) -> dict:
    """Gather provenance as a plain dict (see :func:`report` for the fields)."""
    versions = {name: _version(name) for name in PACKAGES}
    if versions["qsnn"] is None:
        versions["qsnn"] = __version__
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git": git_state(),
        "seed": seed,
        "parameters": dict(parameters or {}),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu(),
        "cpu_count": os.cpu_count(),
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "gpu": _gpu(),
        "versions": versions,
    }


def report(notebook: str | os.PathLike | None = None, *, seed: Any = None,
           parameters: Mapping[str, Any] | None = None, namespace: Mapping[str, Any] | None = None) -> None:
    """Print the provenance of this execution (use :func:`collect` for the dict).

    Parameters
    ----------
    notebook : str or path, optional
        The chapter (stem or path): its ``parameters`` cell names the parameters to report, with their
        values in ``namespace``; ``seed`` defaults to the parameter ``seed``.
    seed : int, optional
        The chapter's seed.
    parameters : mapping, optional
        The parameters, given explicitly instead of read from ``notebook``.
    namespace : mapping, optional
        Where the parameters' values are looked up (default: the caller's globals).
    """
    if notebook is not None and parameters is None:
        parameters = globals()["parameters"](notebook, sys._getframe(1).f_globals if namespace is None else namespace)
        seed = parameters.get("seed") if seed is None else seed
    info = collect(seed, parameters)
    git = info["git"]
    commit = "not a git checkout" if git["commit"] is None else (
        git["commit"][:12] + (" (uncommitted changes)" if git["dirty"] else " (clean)"))
    lines = [
        f"date (UTC)   {info['date_utc']}",
        f"git commit   {commit}",
        f"seed         {info['seed']}",
        f"parameters   {', '.join(f'{k}={v!r}' for k, v in info['parameters'].items()) or '-'}",
        f"python       {info['python']} on {info['platform']}",
        f"cpu          {info['cpu']} ({info['cpu_count']} logical cores, OMP_NUM_THREADS={info['threads']})",
        f"gpu          {info['gpu'] or 'none used'}",
        "versions     " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v),
    ]
    print("\n".join(lines))
