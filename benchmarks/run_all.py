"""Run every benchmark in this folder and print its table (``make bench``).

Each ``bench_*.py`` is a script that measures ratios against a reference in the same run and prints a
table; they are run one after another in fresh processes so that one cannot warm the caches of another.
Benchmarks are measurements, not tests: nothing here passes or fails on a timing.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or sorted(p.name for p in HERE.glob("bench_*.py"))
    status = 0
    for name in names:
        print(f"\n=== {name}", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / name)])
    return status


if __name__ == "__main__":
    sys.exit(main())
