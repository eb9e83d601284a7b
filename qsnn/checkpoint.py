"""Atomic writes, safe checkpoint loading and RNG-state capture for resumable training.

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and dicts saved with
``torch.save``. It is written atomically (a temporary file in the target folder, flushed and
``fsync``-ed, then ``os.replace``), so a crash never leaves a truncated checkpoint under the final
name, and it is read back with ``torch.load(..., weights_only=True)``, which refuses any pickled
object outside PyTorch's allow-list instead of executing it.

Random-number-generator states are stored as tensors and plain lists for the same reason: the
NumPy and Python states are converted from their native tuples, which ``weights_only`` loading
would reject.
"""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

from ._core.extras import require_extra

require_extra("torch", "qsnn.checkpoint", modules=("torch",))  # a message naming the extra, not a bare ModuleNotFoundError

import numpy as np
import torch

from ._core.atomic import atomic_write, atomic_write_bytes, atomic_write_text  # noqa: F401 (re-exported)

__all__ = [
    "UnsafeCheckpointError",
    "CorruptCheckpointError",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "save_checkpoint",
    "load_checkpoint",
    "get_rng_state",
    "set_rng_state",
]


class UnsafeCheckpointError(ValueError):
    """A checkpoint file holds objects that safe (``weights_only``) loading refuses."""


class CorruptCheckpointError(ValueError):
    """A checkpoint file is empty, truncated, zeroed or not a checkpoint at all."""


# torch.save writes a zip archive (its first bytes are a zip local-file header); files of the
# pre-1.6 format start with torch's magic number pickled with protocol 2.
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)[:-1]
_REMEDY = "delete it (a training run then starts afresh) or resume from another checkpoint_dir"


def _corrupt(path: Path, what: str) -> CorruptCheckpointError:
    return CorruptCheckpointError(f"cannot load checkpoint {path}: {what}; {_REMEDY}")


def _check_header(path: Path) -> None:
    """Refuse files that cannot be a checkpoint before torch sees them (its errors name neither)."""
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    if not head:
        raise _corrupt(path, "the file is empty (0 bytes), as left by a crash before anything was written")
    if not head.strip(b"\x00"):
        raise _corrupt(path, "the file starts with only zero bytes, as left by a crash before its data reached the disk")
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC)):
        raise _corrupt(path, "the file is not a PyTorch checkpoint (it does not start like a file written by torch.save)")


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Save a checkpoint dictionary atomically.

    Parameters
    ----------
    state : dict
        Tensors, numbers, strings, ``None``, and lists/tuples/dicts of those (what
        ``torch.load(weights_only=True)`` accepts). Anything else would make the file unloadable
        by :func:`load_checkpoint`.
    path : str or os.PathLike
        Destination file.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        If ``state`` is not a dict.
    """
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict, got {type(state).__name__}")
    path = Path(path)
    with atomic_write(path, "wb") as fh:
        torch.save(state, fh)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``torch.load(weights_only=True)``: no arbitrary unpickling.

    Parameters
    ----------
    path : str or os.PathLike
        Checkpoint written by :func:`save_checkpoint`.
    map_location : str or torch.device
        Where tensors are placed (default CPU).

    Returns
    -------
    dict
        The stored dictionary.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UnsafeCheckpointError
        If the file contains a pickled object outside the safe allow-list (it is not executed).
    CorruptCheckpointError
        If the file is empty, zeroed, truncated or not a checkpoint; the message names the file and
        what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    _check_header(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" not in str(exc).lower():
            raise _corrupt(path, f"the file is truncated or damaged ({_first_line(exc)})") from exc
        raise UnsafeCheckpointError(
            f"refusing to load {path}: it contains objects that are not plain tensors, numbers, "
            f"strings, lists or dicts ({_first_line(exc)})"
        ) from exc
    except (RuntimeError, OSError, EOFError, KeyError, ValueError, IndexError) as exc:
        raise _corrupt(path, f"the file is truncated or damaged ({_first_line(exc)})") from exc
    if not isinstance(state, dict):
        raise UnsafeCheckpointError(f"{path} does not hold a checkpoint dictionary")
    return state


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().split("\n")[0].split(". ")[0].rstrip(".")
    return text or type(exc).__name__


def get_rng_state() -> dict:
    """Capture the torch (CPU and CUDA), NumPy (legacy global) and Python ``random`` states.

    Returns
    -------
    dict
        Only tensors, ints, floats, ``None`` and lists, so ``weights_only`` loading accepts it.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": int(version), "internal": list(internal), "gauss_next": gauss_next},
    }


def set_rng_state(state: dict) -> None:
    """Restore the states captured by :func:`get_rng_state`.

    CUDA states are restored only when CUDA is available and the device count matches.
    """
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
    n = state["numpy"]
    np.random.set_state(
        (
            n["kind"],
            n["keys"].numpy().astype(np.uint32),
            int(n["pos"]),
            int(n["has_gauss"]),
            float(n["cached_gaussian"]),
        )
    )
    p = state["python"]
    random.setstate((int(p["version"]), tuple(int(v) for v in p["internal"]), p["gauss_next"]))
