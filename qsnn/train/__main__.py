"""``python -m qsnn.train``: see :mod:`qsnn.train.cli`."""

import sys

from qsnn._core.cli import train

sys.exit(train())
