"""Entry point for the two-process DDP test: ``torchrun ... tests/_ddp_entry.py CONFIG_JSON OUT``.

Trains the configured model (the real small Q-SNN in the test) through ``qsnn.train.fit`` and saves
each rank's final state dict and rank 0's result.
"""

import json
import os
import sys

import torch

from qsnn.train import TrainConfig, fit

config = TrainConfig.from_dict(json.loads(sys.argv[1]))
out = sys.argv[2]
result = fit(config)
rank = int(os.environ["RANK"])
torch.save(result.model.state_dict(), os.path.join(out, f"rank{rank}.pt"))
if rank == 0:
    with open(os.path.join(out, "result.json"), "w") as fh:
        json.dump(result.to_dict(), fh)
