"""Entry point for the two-process DDP test: ``torchrun ... tests/_ddp_entry.py CONFIG_JSON OUT``.

Trains the real small Q-SNN (or, with ``--fake-models`` first, the stand-in of ``_fake_models``) and
saves each rank's final state dict and rank 0's result.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if sys.argv[1] == "--fake-models":
    import _fake_models  # noqa: E402

    _fake_models.install()
    del sys.argv[1]

import torch  # noqa: E402

from qsnn.train import TrainConfig, fit  # noqa: E402

config = TrainConfig.from_dict(json.loads(sys.argv[1]))
out = sys.argv[2]
result = fit(config)
rank = int(os.environ["RANK"])
torch.save(result.model.state_dict(), os.path.join(out, f"rank{rank}.pt"))
if rank == 0:
    with open(os.path.join(out, "result.json"), "w") as fh:
        json.dump(result.to_dict(), fh)
