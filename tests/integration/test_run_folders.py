"""What ``python -m qsnn.train`` writes, :func:`qsnn.experiments.load_run` reads: one run-folder format."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from qsnn.experiments import load_run

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """A one-epoch run of the command line on the digits, in its own folder."""
    out = tmp_path_factory.mktemp("train") / "train1"
    done = subprocess.run(
        [sys.executable, "-m", "qsnn.train", "--set", "epochs=1", "--set", "time_steps=2", "--set", "threads=1",
         "--set", "model_kwargs.widths=[4,8,8]", "--set", "batch_size=128", "--output-dir", str(out),
         "--no-progress"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


def test_the_command_line_writes_a_plain_state_dict(cli_run):
    """model.pt of a qsnn.train run is a state dict (tensors by parameter name), as a grid run's is."""
    state = torch.load(cli_run / "model.pt", weights_only=True)
    assert state and all(isinstance(v, torch.Tensor) for v in state.values())


def test_load_run_reads_a_command_line_run_and_reproduces_its_accuracy(cli_run):
    """load_run builds the model of config.yaml with the trained weights; evaluating it gives metrics.json's accuracy."""
    from qsnn.data import get_loaders
    from qsnn.train import evaluate

    run = load_run(cli_run)
    loaders = get_loaders(run.config.dataset, batch_size=128, seed=run.config.seed)
    result = evaluate(run.model, loaders.test, run.config.time_steps)
    assert result.accuracy == pytest.approx(json.loads((cli_run / "metrics.json").read_text())["test_acc"])


def test_a_loaded_command_line_run_exports_to_the_packed_format(cli_run, tmp_path):
    """The loaded model is a Q-SNN that qsnn.deploy packs and loads back."""
    from qsnn import deploy

    path = deploy.export(load_run(cli_run).model, tmp_path / "model.qsnn")
    assert deploy.load(path) is not None


def test_load_run_reads_the_earlier_wrapped_form(cli_run, tmp_path):
    """A model.pt written as {"model": state dict, "config": ...} still loads, with the same weights."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(cli_run, old)
    state = torch.load(cli_run / "model.pt", weights_only=True)
    torch.save({"model": state, "config": {"model": "small"}}, old / "model.pt")
    loaded = load_run(old).model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_weights_that_do_not_fit_leave_the_folder_and_never_advise_deleting_it(cli_run, tmp_path):
    """A model.pt that does not fit config.yaml is a ValueError that names the file; nothing is removed."""
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(cli_run, bad)
    torch.save({"nothing": torch.zeros(1)}, bad / "model.pt")
    with pytest.raises(ValueError, match="does not hold the weights") as info:
        load_run(bad)
    assert "delete" not in str(info.value).lower() and "remove" not in str(info.value).lower()
    assert sorted(p.name for p in bad.iterdir()) == ["config.yaml", "metrics.json", "model.pt"]
