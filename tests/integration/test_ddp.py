"""Test of distributed training: two CPU processes (Gloo) launched by torchrun."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parents[1]  # tests/, where the entry script lies


@pytest.mark.slow
def test_two_process_gloo_run_trains_and_ranks_agree(tmp_path):
    """torchrun with 2 CPU processes trains the small Q-SNN, reports a result, both ranks end with
    equal weights, and rank 0 alone holds and writes the folders (metrics.json, last.pt)."""
    torchrun = Path(sys.executable).with_name("torchrun")
    config = {"epochs": 2, "batch_size": 64, "time_steps": 2, "device": "cpu", "threads": 1,
              "progress": False, "seed": 1, "checkpoint_dir": str(tmp_path / "ckpt"),
              "output_dir": str(tmp_path / "out")}
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(HERE.parent))
    proc = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", str(HERE / "_ddp_entry.py"),
         json.dumps(config), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["world_size"] == 2 and len(result["history"]) == 2
    assert result["test_acc"] > 0.3  # chance is 0.1
    assert result["history"][1]["train_loss"] < result["history"][0]["train_loss"]
    s0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    s1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert s0.keys() == s1.keys() and all(torch.equal(s0[k], s1[k]) for k in s0)
    assert (tmp_path / "ckpt" / "last.pt").is_file()
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["test_acc"] == result["test_acc"] and metrics["samples"] == {"train": 1437, "test": 360}
    assert not (tmp_path / "out" / ".lock").exists() and not (tmp_path / "ckpt" / ".lock").exists()


@pytest.mark.slow
def test_two_process_run_on_a_file_fails_on_every_rank(tmp_path):
    """An output_dir that is a file stops both ranks before training (no rank waits forever)."""
    torchrun = Path(sys.executable).with_name("torchrun")
    (tmp_path / "taken").write_text("x")
    config = {"epochs": 1, "batch_size": 64, "time_steps": 2, "device": "cpu", "threads": 1,
              "progress": False, "output_dir": str(tmp_path / "taken")}
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(HERE.parent))
    proc = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", str(HERE / "_ddp_entry.py"),
         json.dumps(config), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert f"output_dir {tmp_path / 'taken'} is a file" in proc.stderr
    assert "rank 0 could not prepare the output folders" in proc.stderr
