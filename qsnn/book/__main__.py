"""``python -m qsnn.book``: run, list and refresh the book's chapters (:mod:`qsnn.book.runner`)."""

import sys

from .._core.cli import run

sys.exit(run())
