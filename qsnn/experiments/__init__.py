"""Experiments: a base training configuration, named arms that override it, seeds shared by every arm.

The layer between :func:`qsnn.train.fit` and the chapters::

    exp = Experiment.from_yaml("book/experiments/05_ablation/experiment.yaml")
    run_experiment(exp, "book/experiments/05_ablation")      # resumable; finished runs are skipped
    run = load_run("book/experiments/05_ablation/qsnn_wsdr/seed0")
    run.model, run.config, run.metrics["test_acc"]
    summarize(exp, "book/experiments/05_ablation")            # mean, std, paired differences with 95 % CI

Command line: ``python -m qsnn.experiments run|status|summary SPEC.yaml``.
"""

from .runs import PREDICTION_SLICE, RUN_FILES, Run, RunOutcome, StaleRunsError, build_model, checkpoint_folder, \
    is_complete, load_run, load_runs, locate, locate_data, open_grid, run_differences, run_experiment, run_folder, slice_predictions, \
    stale_runs, status
from .spec import Experiment
from .summary import (arm_summary, format_curves, format_summary, learning_curves, paired_difference, read_metric,
                      summarize)

__all__ = ["Experiment", "run_experiment", "status", "load_run", "load_runs", "Run", "RunOutcome",
           "run_folder", "checkpoint_folder", "is_complete", "build_model", "open_grid", "locate", "locate_data", "summarize", "paired_difference", "arm_summary",
           "format_summary", "learning_curves", "format_curves", "read_metric", "RUN_FILES", "PREDICTION_SLICE", "slice_predictions", "StaleRunsError",
           "stale_runs", "run_differences"]
