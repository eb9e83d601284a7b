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


def _flatbuffer_table_with_offset_field(identifier, n_fields, field, payload, size_prefixed):
    """A flatbuffer whose root table has one offset field (index ``field``) pointing at ``payload``.

    ``payload`` is the pointed-to object (a vector or a string, length prefix included) and must
    start 8-aligned so that 8-byte vector elements are aligned. Layout: [size], root offset,
    identifier, vtable, table (soffset, uoffset), payload.
    """
    import struct

    head = 4 if size_prefixed else 0
    vt_pos = head + 8
    vtable = struct.pack("<HH", 4 + 2 * n_fields, 8) + b"".join(
        struct.pack("<H", 4 if i == field else 0) for i in range(n_fields))
    table_pos = vt_pos + len(vtable)
    table_pos += (-table_pos) % 4
    payload_pos = table_pos + 8
    payload_pos += (-(payload_pos + 4)) % 8  # elements after the u32 length are 8-aligned
    buf = bytearray(payload_pos + len(payload))
    buf[head:head + 4] = struct.pack("<I", table_pos - head)
    buf[head + 4:head + 8] = identifier
    buf[vt_pos:vt_pos + len(vtable)] = vtable
    buf[table_pos:table_pos + 8] = struct.pack("<iI", table_pos - vt_pos, payload_pos - (table_pos + 4))
    buf[payload_pos:] = payload
    buf += b"\0" * ((-len(buf)) % 4)
    if size_prefixed:
        buf[0:4] = struct.pack("<I", len(buf) - 4)
    return bytes(buf)


def write_aedat4(path, t, x, y, on, width=128, height=128):
    """One event stream as an AEDAT 4 file (uncompressed, one EVTS stream), as CIFAR10-DVS ships.

    The format of the ``aedat`` reader tonic uses: the magic line, a length-prefixed IOHE
    flatbuffer whose description XML declares stream 0 as EVTS with the sensor size, then one
    packet (stream id, length, size-prefixed EVTS flatbuffer of 16-byte events t:i64, x:i16,
    y:i16, on:bool).
    """
    import struct

    xml = (f'<dv version="2.0"><node name="outInfo" path="/mainloop/Recorder/outInfo/">'
           f'<node name="0" path="/mainloop/Recorder/outInfo/0/">'
           f'<attr key="typeIdentifier" type="string">EVTS</attr>'
           f'<node name="info" path="/mainloop/Recorder/outInfo/0/info/">'
           f'<attr key="sizeX" type="int">{width}</attr><attr key="sizeY" type="int">{height}</attr>'
           f'</node></node></node></dv>').encode()
    header = _flatbuffer_table_with_offset_field(
        b"IOHE", 3, 2, struct.pack("<I", len(xml)) + xml + b"\0", size_prefixed=False)
    events = np.zeros(len(t), dtype=np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("on", "u1"),
                                               ("pad", "V3")]))
    events["t"], events["x"], events["y"], events["on"] = t, x, y, on
    packet = _flatbuffer_table_with_offset_field(
        b"EVTS", 1, 0, struct.pack("<I", len(t)) + events.tobytes(), size_prefixed=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"#!AER-DAT4.0\r\n" + struct.pack("<I", len(header)) + header
                     + struct.pack("<II", 0, len(packet)) + packet)


def tiny_cifar10dvs(root, classes=("airplane", "truck"), per_class=10, n=100, seed=0):
    """``per_class`` AEDAT 4 recordings of ``n`` events per class folder; returns {path: (t, x, y, on)}."""
    rng = np.random.default_rng(seed)
    written = {}
    for c in classes:
        for k in range(per_class):
            ev = (np.sort(rng.integers(1_000, 1_300_000, n)), rng.integers(0, 128, n),
                  rng.integers(0, 128, n), rng.integers(0, 2, n))
            path = root / c / f"cifar10_{c}_{k}.aedat4"
            write_aedat4(path, *ev)
            written[str(path)] = ev
    return written
