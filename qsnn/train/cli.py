"""Command line ``python -m qsnn.train`` (console script ``qsnn-train``).

Usage::

    python -m qsnn.train --config book/params/vgg11_cifar10.yaml --set epochs=1 --set data_dir=data
    torchrun --nproc_per_node=4 -m qsnn.train --config book/params/vgg11_cifar10.yaml
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from .._core.cli import IMPORT_HELP, import_modules, version_text
from .._core.extras import MissingExtraError
from .._core.lock import FolderBusyError
from .._core.yamlio import apply_overrides, parse_overrides, read_mapping
from ..data import DatasetNotFoundError
from .config import MODEL_NAMES, TrainConfig
from .loop import fit
from .outputs import METRICS_NAME

__all__ = ["DEFAULT_OUTPUT_DIR", "format_epoch", "main"]

DEFAULT_OUTPUT_DIR = "runs/qsnn-train"


def format_epoch(record: dict, epochs: int) -> str:
    """One line summarising an epoch's history record."""
    rates = " ".join(f"{r:.3f}" for r in record["train_rates"])
    test = "" if record["test_acc"] is None else f"  test {100 * record['test_acc']:.2f}%"
    return (
        f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}  lr {record['lr']:.4g}  "
        f"loss {record['train_loss']:.4f} (ce {record['train_ce']:.4f}, sr {record['train_sr']:.4f})  "
        f"train {100 * record['train_acc']:.2f}%{test}  rates [{rates}]  {record['epoch_time']:.1f} s"
    )


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="qsnn-train",
        description="Train a Q-SNN (Wei et al., ACM MM 2024) on digits, MNIST, CIFAR or event data.",
        epilog=(f"Models: {', '.join(MODEL_NAMES)}. "
                f"Configuration keys: {', '.join(TrainConfig.field_names())}."),
    )
    p.add_argument("--version", action="version", version=version_text("qsnn-train"))
    p.add_argument("--config", help="YAML file with configuration keys (defaults otherwise)")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="FILE_OR_MODULE",
                   help=IMPORT_HELP)
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one key (YAML value; dotted keys reach into model_kwargs and dataset_kwargs), repeatable",
    )
    p.add_argument("--output-dir",
                   help=f"where config.yaml, metrics.json and model.pt go (default: output_dir, else {DEFAULT_OUTPUT_DIR})")
    p.add_argument("--resume", action="store_true", default=None, help="continue from checkpoint_dir/last.pt")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command line ``python -m qsnn.train`` / ``qsnn-train``; returns the exit status.

    Prints one line per epoch and the final result; :func:`qsnn.train.fit` writes ``config.yaml``,
    ``model.pt`` and ``metrics.json`` to the output folder, atomically. A bad configuration, an
    unusable or busy output folder, an earlier run's files that would be replaced, or missing data
    print the reason and return 2, before the first epoch.
    """
    args = _build_parser().parse_args(argv)
    try:
        import_modules(args.imports)
        values = read_mapping(args.config, "configuration file") if args.config else {}
        apply_overrides(values, parse_overrides(args.overrides))
        if args.resume:
            values["resume"] = True
        if args.no_progress:
            values["progress"] = False
        if args.output_dir:
            values["output_dir"] = args.output_dir
        values.setdefault("output_dir", DEFAULT_OUTPUT_DIR)
        if values["output_dir"] is None:
            values["output_dir"] = DEFAULT_OUTPUT_DIR
        config = TrainConfig.from_dict(values)
    except (ValueError, FileNotFoundError, ModuleNotFoundError) as exc:
        print(f"qsnn-train: error: {exc}", file=sys.stderr)
        return 2
    try:
        result = fit(config, on_epoch=lambda r: print(format_epoch(r, config.epochs), flush=True))
    except (ValueError, DatasetNotFoundError, FolderBusyError, MissingExtraError) as exc:
        print(f"qsnn-train: error: {exc}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        rates = " ".join(f"{r:.3f}" for r in result.test_rates)
        print(
            f"final: test accuracy {100 * result.test_acc:.2f}%  test loss {result.test_loss:.4f}  "
            f"rates [{rates}]  device {result.device}  metrics {Path(config.output_dir) / METRICS_NAME}",
            flush=True,
        )
    return 0
