"""A grid whose experiment file changed after runs finished: the runs are stale, and status, run and summary
say so instead of mixing two configurations."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from qsnn.experiments import Experiment, checkpoint_folder, run_experiment, run_folder, stale_runs, status, summarize
from qsnn.experiments.runs import StaleRunsError

ROOT = Path(__file__).resolve().parents[2]
BASE = {"epochs": 1, "batch_size": 128, "time_steps": 2, "threads": 1, "model_kwargs": {"widths": [4, 8, 8]}}
pytestmark = pytest.mark.slow


def _write(folder: Path, **changes) -> Path:
    spec = folder / "experiment.yaml"
    spec.write_text(yaml.safe_dump({"base": {**BASE, **changes}, "arms": {"q": {}}, "seeds": [0]}))
    return spec


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A one-run grid (one epoch on the digits), trained once."""
    folder = tmp_path_factory.mktemp("grid") / "g"
    folder.mkdir()
    run_experiment(Experiment.from_yaml(_write(folder)), folder)
    return folder


@pytest.fixture
def grid(trained, tmp_path):
    """A copy of the trained grid to change."""
    return Path(shutil.copytree(trained, tmp_path / "g"))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "qsnn.experiments", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def test_a_run_of_the_grid_as_written_is_done(grid):
    """Before any edit the run is done, not stale."""
    assert status(Experiment.from_yaml(grid / "experiment.yaml"), grid) == {("q", 0): "done"}


def test_status_marks_a_run_of_an_edited_grid_stale_and_names_the_setting(grid):
    """After epochs 1 -> 2, status prints the run as stale with the setting that differs."""
    spec = _write(grid, epochs=2)
    done = _cli("status", spec)
    assert done.returncode == 0, done.stderr
    assert "stale" in done.stdout and "epochs: run 1, grid 2" in done.stdout and "0 of 1 runs done" in done.stdout


def test_run_refuses_to_mix_configurations_and_trains_nothing(grid):
    """run on the edited grid exits 2 naming the stale run and the way out; the old run is untouched."""
    before = (run_folder(grid, "q", 0) / "model.pt").read_bytes()
    done = _cli("run", _write(grid, epochs=2), "--no-progress")
    assert done.returncode == 2 and "q/seed0 (epochs: run 1, grid 2)" in done.stderr and "--retrain-stale" in done.stderr
    assert "Traceback" not in done.stderr
    assert (run_folder(grid, "q", 0) / "model.pt").read_bytes() == before


def test_retrain_stale_keeps_the_old_run_and_trains_the_grid_as_written(grid):
    """run --retrain-stale renames the stale folder to seed0.stale-<time>/ and trains a fresh seed0."""
    spec = _write(grid, epochs=2)
    done = _cli("run", spec, "--no-progress", "--retrain-stale")
    assert done.returncode == 0, done.stderr
    kept = list((grid / "q").glob("seed0.stale-*"))
    assert len(kept) == 1 and yaml.safe_load((kept[0] / "config.yaml").read_text())["epochs"] == 1
    assert status(Experiment.from_yaml(spec), grid) == {("q", 0): "done"}


def test_summary_refuses_to_pool_stale_runs(grid):
    """summary of the edited grid exits 2 instead of reporting the earlier configuration's numbers."""
    done = _cli("summary", _write(grid, epochs=2))
    assert done.returncode == 2 and "not pooled" in done.stderr
    with pytest.raises(StaleRunsError):
        summarize(Experiment.from_yaml(grid / "experiment.yaml"), grid)


def test_settings_that_do_not_change_the_numbers_leave_runs_current(grid):
    """threads (and the other RESUMABLE_DIFFERENCES) may change without making a run stale."""
    assert not stale_runs(Experiment.from_yaml(_write(grid, threads=2)), grid)


def test_a_field_added_later_at_its_default_leaves_runs_current(grid):
    """A config.yaml without a field the configuration gained since (at its default) is still current."""
    config = run_folder(grid, "q", 0) / "config.yaml"
    recorded = yaml.safe_load(config.read_text())
    del recorded["ede_schedule"]
    config.write_text(yaml.safe_dump(recorded))
    assert not stale_runs(Experiment.from_yaml(grid / "experiment.yaml"), grid)


def test_a_checkpoint_of_another_configuration_is_not_resumed(tmp_path):
    """A run in progress whose checkpoint holds another configuration stops run_experiment with StaleRunsError."""
    import dataclasses

    from qsnn.train import fit

    exp = Experiment.from_yaml(_write(tmp_path))
    old = dataclasses.replace(exp.config("q", 0), lr=0.05, checkpoint_dir=str(checkpoint_folder(tmp_path, "q", 0)))
    fit(old)
    with pytest.raises(StaleRunsError, match="lr: run 0.05, grid 0.1"):
        run_experiment(exp, tmp_path)
    assert (checkpoint_folder(tmp_path, "q", 0) / "last.pt").is_file()
