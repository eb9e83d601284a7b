"""Which optional extra of the package a feature needs, and the message that names it.

The base install is Part I (numpy, numba, sympy). Part II needs the ``torch`` extra, recorded event
data the ``events`` extra and the chapter runner the ``book`` extra (``pip install "qsnn[torch]"``).
A feature whose extra is missing raises :class:`MissingExtraError` (a ``ModuleNotFoundError``) naming
the extra to install, before anything else can fail with a bare ``No module named ...``.
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "MissingExtraError", "missing_modules", "require_extra"]

#: The modules whose presence marks each extra as installed (import names, as ``import`` spells them).
EXTRAS = {
    "torch": ("torch", "yaml", "sklearn", "scipy", "tqdm"),
    "events": ("torch", "tonic"),
    "book": ("yaml", "papermill", "nbformat", "nbclient", "ipykernel", "matplotlib"),
}


class MissingExtraError(ModuleNotFoundError):
    """A feature needs an optional extra that is not installed; the message names it and the pip command."""


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` (one of :data:`EXTRAS`) that cannot be imported here."""
    return [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]


def require_extra(extra: str, what: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise :class:`MissingExtraError` if ``extra`` is not installed; ``what`` names the feature.

    ``modules`` narrows the check to the modules the feature imports (default: all of the extra's).

    Raises
    ------
    MissingExtraError
        Saying that ``what`` needs the extra, which modules are missing, and ``pip install "qsnn[extra]"``.
    """
    missing = [m for m in (EXTRAS[extra] if modules is None else modules) if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtraError(
            f'{what} needs the "{extra}" extra, which is not installed here (no module '
            f'{", ".join(missing)}): pip install "qsnn[{extra}]" (from a checkout of the repository: '
            f'pip install ".[{extra}]")',
            name=missing[0],
        )
