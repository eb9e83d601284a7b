"""The recipe on a reader's own data: a data set registered by name trains, resumes, loads and runs from the
command lines like a built-in one; bad samples are refused with messages that say what is wrong."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _shapes_data  # noqa: E402  (registers "shapes" and "shapes_events")
from _shapes_data import Pairs, shapes  # noqa: E402

from qsnn.data import DATASETS, dataset_info, dataset_names, get_loaders, register_dataset, unregister_dataset  # noqa: E402
from qsnn.experiments import load_run  # noqa: E402
from qsnn.train import TrainConfig, evaluate, fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).resolve().parents[1] / "_shapes_data.py"


def _cfg(**kw) -> TrainConfig:
    base = dict(dataset="shapes", epochs=3, batch_size=16, time_steps=2, threads=1, progress=False,
                model_kwargs={"widths": [4, 8, 8]})
    return TrainConfig(**{**base, **kw})


@pytest.fixture
def scratch_name():
    """A name registered by the test, forgotten afterwards."""
    yield "scratch"
    if "scratch" in dataset_names():
        unregister_dataset("scratch")


def test_a_registered_data_set_is_described_by_its_samples():
    """register_dataset reads channels, size and temporal-or-not from the first sample."""
    info = dataset_info("shapes")
    assert (info.num_classes, info.in_channels, info.input_size, info.temporal) == (3, 1, (8, 8), False)
    assert info.class_names == ("horizontal", "vertical", "diagonal")
    assert dataset_info("shapes_events").temporal


def test_the_recipe_learns_a_registered_image_set():
    """fit with dataset=<registered name> trains the Q-SNN recipe on it, far above chance (1/3)."""
    assert fit(_cfg(epochs=4)).test_acc > 0.8


def test_the_recipe_learns_registered_event_tensors():
    """Event frames [T, C, H, W] train as a temporal data set (T = time_steps)."""
    assert fit(_cfg(dataset="shapes_events", time_steps=4, epochs=4)).test_acc > 0.7


def test_training_on_a_registered_set_is_deterministic():
    """Two runs with one seed give the same history: the order is drawn from (seed, epoch)."""
    a, b = fit(_cfg(seed=3)), fit(_cfg(seed=3))
    strip = lambda h: [{k: v for k, v in r.items() if k != "epoch_time"} for r in h]  # noqa: E731
    assert strip(a.history) == strip(b.history)


def test_a_resumed_run_on_a_registered_set_equals_an_uninterrupted_one(tmp_path):
    """Stopping after epoch 1 and resuming from the checkpoint gives the uninterrupted run's weights."""
    whole = fit(_cfg(seed=4))

    class Stop(Exception):  # raised from the epoch callback: epoch 1 is checkpointed, then the run stops
        pass

    def stop(record):
        raise Stop

    with pytest.raises(Stop):
        fit(_cfg(seed=4, checkpoint_dir=str(tmp_path)), on_epoch=stop)
    resumed = fit(_cfg(seed=4, checkpoint_dir=str(tmp_path), resume=True))
    for k, v in whole.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[k], v), k


def test_a_dataloader_is_accepted_for_its_data_set(scratch_name):
    """A DataLoader registers its data set; the recipe's own sampler draws the batches."""
    x, y = shapes(10, seed=5)
    register_dataset(scratch_name, DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True), Pairs(x, y),
                     num_classes=3)
    loaders = get_loaders(scratch_name, batch_size=8, seed=0)
    assert loaders.sample_counts == {"train": 30, "test": 30}
    xb, yb = next(iter(loaders.train))
    assert xb.shape == (8, 1, 8, 8) and xb.dtype == torch.float32 and yb.dtype == torch.int64


@pytest.mark.parametrize("sample, message", [
    ((torch.zeros(8, 8), 0), r"image \[C, H, W\] or event frames \[T, C, H, W\], got shape \(8, 8\)"),
    ((torch.zeros(1, 8, 8, dtype=torch.uint8), 0), "must be a floating-point tensor"),
    ((torch.zeros(1, 8, 8), 3), r"y must be an integer class in 0..2, got 3"),
    ((torch.zeros(1, 8, 8),), r"must be a pair \(x, y\)"),
])
def test_bad_first_samples_are_refused_at_registration(scratch_name, sample, message):
    """A first sample of the wrong shape, type or class is a ValueError naming the split and index."""
    with pytest.raises(ValueError, match=message) as info:
        register_dataset(scratch_name, [sample], [sample], num_classes=3)
    assert "scratch train[0]" in str(info.value)
    assert scratch_name not in dataset_names()


def test_splits_of_different_shapes_are_refused(scratch_name):
    """Train and test samples must have one shape."""
    with pytest.raises(ValueError, match=r"scratch test\[0\]: x has shape \(1, 6, 6\).*\(1, 8, 8\)"):
        register_dataset(scratch_name, [(torch.zeros(1, 8, 8), 0)], [(torch.zeros(1, 6, 6), 0)], num_classes=2)


def test_a_later_sample_of_another_shape_is_named_when_loaded(scratch_name):
    """A sample past the first with another shape stops the loader with its split and index."""
    good, bad = (torch.zeros(1, 8, 8), 0), (torch.zeros(1, 7, 8), 1)
    register_dataset(scratch_name, [good, bad], [good], num_classes=2)
    loaders = get_loaders(scratch_name, batch_size=2, seed=0)
    with pytest.raises(ValueError, match=r"scratch train\[1\]: x has shape \(1, 7, 8\)"):
        list(loaders.train)


def test_event_frames_must_match_time_steps():
    """A temporal set with T frames refuses another time_steps, saying which to set."""
    with pytest.raises(ValueError, match="have T = 4 frames, but time_steps is 2; set time_steps: 4"):
        fit(_cfg(dataset="shapes_events", time_steps=2))


def test_built_in_names_cannot_be_replaced():
    """register_dataset refuses the name of a built-in data set."""
    with pytest.raises(ValueError, match="is a built-in data set"):
        register_dataset(DATASETS[0], Pairs(*shapes(2, 0)), Pairs(*shapes(2, 0)), num_classes=3)


def test_an_unregistered_name_says_how_to_register():
    """A configuration naming an unknown data set points to register_dataset and --import."""
    with pytest.raises(ValueError, match="register_dataset.*--import"):
        TrainConfig(dataset="not_registered")


@pytest.mark.slow
def test_the_command_line_trains_a_registered_set_and_load_run_reads_it(tmp_path):
    """python -m qsnn.train --import <file> --set dataset=shapes trains it; load_run (after the same import)
    rebuilds the model and reproduces the accuracy in metrics.json."""
    import json

    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "qsnn.train", "--import", str(HELPER), "--set", "dataset=shapes", "--set", "epochs=2",
         "--set", "batch_size=16", "--set", "time_steps=2", "--set", "threads=1",
         "--set", "model_kwargs.widths=[4,8,8]", "--output-dir", str(out), "--no-progress"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    run = load_run(out)
    acc = evaluate(run.model, get_loaders("shapes", batch_size=64).test, run.config.time_steps).accuracy
    assert acc == pytest.approx(json.loads((out / "metrics.json").read_text())["test_acc"])


@pytest.mark.slow
def test_a_grid_on_a_registered_set_runs_from_the_command_line(tmp_path):
    """python -m qsnn.experiments run/status --import <file> trains a grid that names the registered set."""
    spec = tmp_path / "experiment.yaml"
    spec.write_text("base: {dataset: shapes, epochs: 1, batch_size: 16, time_steps: 2, threads: 1,\n"
                    "       model_kwargs: {widths: [4, 8, 8]}}\narms: {q: {}}\nseeds: [0]\n")
    for command in ("run", "status"):
        done = subprocess.run([sys.executable, "-m", "qsnn.experiments", command, str(spec), "--import", str(HELPER)]
                              + (["--no-progress"] if command == "run" else []),
                              capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert done.returncode == 0, done.stderr
    assert re.search(r"1 of 1 runs done", done.stdout)


def test_a_missing_import_is_a_message_and_exit_2(tmp_path):
    """--import of a file that does not exist exits 2 with a message, not a traceback."""
    done = subprocess.run([sys.executable, "-m", "qsnn.train", "--import", str(tmp_path / "none.py")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 2 and "no such file" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_readme_example_trains_and_loads_its_own_data(tmp_path, monkeypatch):
    """The README's own-data example runs as written: it registers, trains into runs/halves and loads the run."""
    readme = (ROOT / "README.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "register_dataset" in b)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    try:
        exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    finally:
        if "halves" in dataset_names():
            unregister_dataset("halves")
    assert scope["run"].metrics["test_acc"] == scope["result"].test_acc > 0.5
