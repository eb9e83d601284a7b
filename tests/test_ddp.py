"""Test of distributed training: two CPU processes (Gloo) launched by torchrun."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
@pytest.mark.parametrize("models", ["real", "fake"])
def test_two_process_gloo_run_trains_and_ranks_agree(tmp_path, models):
    """torchrun with 2 CPU processes trains, reports a result, and both ranks end with equal weights."""
    torchrun = Path(sys.executable).with_name("torchrun")
    config = {"epochs": 2, "batch_size": 64, "time_steps": 2, "device": "cpu", "threads": 1,
              "progress": False, "seed": 1, "checkpoint_dir": str(tmp_path / "ckpt")}
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(HERE.parent))
    proc = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", str(HERE / "_ddp_entry.py"),
         *(["--fake-models"] if models == "fake" else []), json.dumps(config), str(tmp_path)],
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
