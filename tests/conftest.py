"""Shared set-up of the test suite.

Where a test goes:

* ``tests/unit/``: one module or function of ``qsnn`` at a time, in this process, on small inputs made
  by the test (a network may be built and stepped, not trained to a result);
* ``tests/integration/``: what runs the parts together or runs as users run them: training
  (``qsnn.train.fit``), the experiment runner and the committed runs, subprocesses, ``torchrun``,
  papermill, the command lines;
* ``tests/book/``: the repository as a book: the README's commands, the chapters' parameter files, the
  metadata, and (marked ``book``) the rendered HTML after ``jupyter-book build``.

Helpers shared by several files lie next to this file (``_cases.py``, ``_event_files.py``); pytest puts
this folder on ``sys.path``, so test files import them by name.

Markers (``pyproject.toml``): ``slow`` for tests of more than a few seconds, ``book`` for the checks of
the built HTML, ``exhaustive`` for the full products of options where a covering list runs by default.
Tests marked ``exhaustive`` are left out unless ``--exhaustive`` is given (``make exhaustive``).

``make unit`` runs the suite on two processes (pytest-xdist, ``--dist loadfile``): all tests of a file run
in one process, so a kernel the file's tests share is compiled (or loaded from numba's disk cache) once.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser):
    parser.addoption("--exhaustive", action="store_true", default=False,
                     help="also run the tests marked exhaustive (full products of kernel options)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--exhaustive"):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("exhaustive") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
