"""Provenance of a chapter's execution: what ran, where, with which versions and parameters.

The last cell of every chapter calls :func:`report`; nbval ignores its output (it legitimately varies
between machines), the rendered book shows it.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

__all__ = ["collect", "report", "git_state"]

#: Packages whose versions decide the numbers a chapter prints.
PACKAGES = ("qsnn", "numpy", "numba", "scipy", "sympy", "matplotlib", "scikit-learn", "torch", "tonic",
            "papermill", "jupyter-book")

_REPO = Path(__file__).resolve().parent.parent


def git_state(path: str | os.PathLike = _REPO) -> dict:
    """Commit hash and dirtiness of the git checkout holding ``path`` (``None`` outside a checkout)."""
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


def collect(seed: Any = None, parameters: Mapping[str, Any] | None = None) -> dict:
    """Gather provenance as a plain dict (see :func:`report` for the fields)."""
    versions = {name: _version(name) for name in PACKAGES}
    if versions["qsnn"] is None:
        from . import __version__
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


def report(seed: Any = None, parameters: Mapping[str, Any] | None = None) -> None:
    """Print the provenance of this execution (use :func:`collect` for the dict).

    Parameters
    ----------
    seed : int, optional
        The chapter's seed parameter.
    parameters : mapping, optional
        Every parameter of the chapter (the ``params`` dict built after the parameters cell).
    """
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
