"""Command line: ``python -m qsnn.experiments run|status|summary SPEC.yaml [--root FOLDER]``.

The run folders go to ``--root`` (default: the folder holding SPEC.yaml). ``run`` trains the runs that are
not finished (two ``run`` processes on one grid share the work), ``status`` lists each run as done,
stale (trained with another configuration than the grid now gives it), running or missing, ``summary`` prints mean +- std per arm and the paired differences with their 95 %
confidence intervals. Exit status 2 for a bad specification.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .._core.cli import IMPORT_HELP, import_modules, version_text
from .runs import StaleRunsError, run_experiment, stale_runs, status
from .spec import Experiment
from .summary import format_summary, summarize


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qsnn.experiments",
                                description="Run, inspect and summarise a grid of training runs (arms x seeds).")
    p.add_argument("--version", action="version", version=version_text("qsnn-experiments"))
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in (("run", "train the runs that are not finished"), ("status", "list the runs' state"),
                       ("summary", "mean +- std per arm and paired differences")):
        q = sub.add_parser(name, help=text)
        q.add_argument("spec", help="experiment YAML file")
        q.add_argument("--root", help="folder of the run folders (default: the folder of the experiment file)")
        q.add_argument("--import", dest="imports", action="append", default=[], metavar="FILE_OR_MODULE",
                       help=IMPORT_HELP)
        if name == "run":
            q.add_argument("--no-progress", action="store_true", help="no progress bars")
            q.add_argument("--reuse", action="append", default=[], metavar="ROOT",
                           help="copy finished runs of the same configuration from this experiment folder")
            q.add_argument("--retrain-stale", action="store_true",
                           help="train runs whose configuration no longer matches the grid again, keeping each "
                                "old folder as <arm>/seed<k>.stale-<UTC time>/ (without it, such runs stop the run)")
        if name == "summary":
            q.add_argument("--metric", default="test_acc", help="metrics.json key to summarise (default test_acc)")
    return p


def _run(exp: Experiment, root: Path, progress: bool, reuse=(), retrain_stale: bool = False) -> int:
    from tqdm.auto import tqdm

    epochs = {arm: exp.config(arm, exp.seeds[0]).epochs for arm in exp.arms}
    runs = tqdm(total=len(exp.runs()), desc=f"{exp.name} runs", unit="run", disable=not progress, position=0)
    bar = {}

    def on_epoch(arm, seed, record):
        if (arm, seed) not in bar:
            bar[(arm, seed)] = tqdm(total=epochs[arm], desc=f"{arm}/seed{seed}", unit="epoch",
                                    disable=not progress, position=1, leave=False)
        acc = record.get("test_acc")
        bar[(arm, seed)].set_postfix_str("" if acc is None else f"test {100 * acc:.2f}%")
        bar[(arm, seed)].update(1)

    def on_run(arm, seed, what):
        if (arm, seed) in bar:
            bar.pop((arm, seed)).close()
        runs.update(1)
        if what != "trained":
            runs.write(f"{arm}/seed{seed}: " + {"skipped": "finished earlier", "busy": "claimed by another runner",
                                                "copied": "copied from a finished run of the same configuration"}[what])

    try:
        outcome = run_experiment(exp, root, on_epoch=on_epoch, on_run=on_run, reuse=reuse,
                                 retrain_stale=retrain_stale)
    finally:
        runs.close()
    print(f"{exp.name}: {len(outcome.trained)} trained, {len(outcome.copied)} copied, {len(outcome.skipped)} "
          f"finished earlier, {len(outcome.busy)} claimed by another runner")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        import_modules(args.imports)
        exp = Experiment.from_yaml(args.spec)
    except (ValueError, FileNotFoundError, ModuleNotFoundError) as exc:
        print(f"qsnn.experiments: error: {exc}", file=sys.stderr)
        return 2
    root = Path(args.root) if args.root else Path(args.spec).parent
    try:
        if args.command == "run":
            return _run(exp, root, not args.no_progress, args.reuse, args.retrain_stale)
        if args.command == "status":
            states = status(exp, root)
            stale = stale_runs(exp, root)
            for (arm, seed), state in states.items():
                why = ""
                if (arm, seed) in stale:
                    why = "  (" + ", ".join(f"{k}: run {was!r}, grid {now!r}" for k, (was, now)
                                            in stale[(arm, seed)].items()) + ")"
                print(f"{arm:<16} seed {seed:<4} {state}{why}")
            done = sum(v == "done" for v in states.values())
            print(f"{done} of {len(states)} runs done" + (f", {len(stale)} stale (trained with another "
                  f"configuration; run --retrain-stale trains them again)" if stale else ""))
            return 0
        print(format_summary(summarize(exp, root, metric=args.metric)))
    except StaleRunsError as exc:
        print(f"qsnn.experiments: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from qsnn._core.cli import experiments as _command  # the extras check, Ctrl-C and closed pipes (qsnn._core.cli)

    sys.exit(_command())
