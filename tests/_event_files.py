"""Tiny event data sets in their real on-disk formats, and a fixture that forbids downloads."""

import numpy as np
import pytest


def write_nmnist_bin(path, x, y, t, p):
    """N-MNIST's 40-bit events: x, y, then 1 bit polarity and 23 bits of timestamp."""
    t = np.asarray(t, dtype=np.int64)
    raw = np.stack([np.asarray(x), np.asarray(y), (np.asarray(p) << 7) | ((t >> 16) & 127),
                    (t >> 8) & 255, t & 255], axis=1).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw.tobytes())


def tiny_nmnist(root, folder="Train", seed=0):
    """Two classes, two samples each, in tonic's extracted N-MNIST layout; returns the events."""
    rng = np.random.default_rng(seed)
    written = {}
    for label in (3, 7):
        for k in range(2):
            n = 50
            ev = (rng.integers(0, 34, n), rng.integers(0, 34, n),
                  np.sort(rng.integers(0, 300_000, n)), rng.integers(0, 2, n))
            path = root / folder / str(label) / f"{k:05d}.bin"
            write_nmnist_bin(path, *ev)
            written[str(path)] = (label, ev)
    return written


@pytest.fixture
def no_network(monkeypatch):
    """Any download attempt fails the test."""
    def forbidden(*args, **kwargs):
        raise AssertionError(f"download attempted: {args}")

    import tonic.dataset
    import tonic.download_utils
    import urllib.request

    monkeypatch.setattr(tonic.download_utils, "download_url", forbidden)
    monkeypatch.setattr(tonic.download_utils, "download_and_extract_archive", forbidden)
    monkeypatch.setattr(tonic.dataset, "download_and_extract_archive", forbidden)
    monkeypatch.setattr(urllib.request, "urlopen", forbidden)


def tiny_dvsgesture(root, folder="ibmGestureTest", seed=0, labels=(0, 4)):
    """One user, one .npy file per gesture in tonic's DVS Gesture layout (columns x, y, p, t in ms).

    Returns the total number of events written per label.
    """
    rng = np.random.default_rng(seed)
    d = root / folder / "user01_fluorescent"
    d.mkdir(parents=True, exist_ok=True)
    counts = {}
    for label in labels:
        n = 200
        rows = np.stack([rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n),
                         np.sort(rng.integers(0, 6000, n))], axis=1).astype(np.int64)
        np.save(d / f"{label}.npy", rows)
        counts[label] = n
    return counts
