"""``python -m qsnn.train``: see :mod:`qsnn.train.cli`."""

import sys

from .cli import main

sys.exit(main())
