"""The packed Q-SNN file: a fixed header, a JSON manifest, then raw little-endian arrays.

Layout (all integers little-endian)::

    offset  size  field
    0       8     magic  b"QSNNPK\\r\\n"  (the CR LF catches text-mode transfers, as PNG's magic does)
    8       2     format version (uint16), :data:`VERSION`
    10      2     reserved, 0
    12      4     manifest length M in bytes (uint32)
    16      4     payload length P in bytes (uint32)
    20      4     CRC-32 of manifest + payload (uint32)
    24      M     manifest: UTF-8 JSON, the program (layers, options) and the array table
    24+M    P     payload: the arrays, each at the offset the table gives, in the table's order

The array table is ``manifest["arrays"] = [[name, dtype, shape, offset], ...]`` with ``dtype`` one of
:data:`DTYPES` and offsets relative to the payload. Reading checks, in this order, the magic, the
version, the lengths against the file's size, the CRC, the manifest's JSON and every array's bounds,
and says which check failed. Nothing is unpickled: the manifest is JSON and the arrays are bytes read
with ``numpy.frombuffer`` into a whitelisted dtype.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from typing import Mapping

import numpy as np

from .._core.atomic import atomic_write_bytes
from ..nn.lifspec import LIFSpec

__all__ = ["MAGIC", "VERSION", "HEADER", "DTYPES", "PackedFileError", "write_packed", "read_packed", "header_fields",
           "lif_entry", "lif_spec"]

MAGIC = b"QSNNPK\r\n"
VERSION = 1
_HEADER = struct.Struct("<8sHHIII")
#: bytes before the manifest
HEADER = _HEADER.size
#: the array dtypes a file may hold (little-endian)
DTYPES = {"uint8": "<u1", "int8": "<i1", "int32": "<i4", "float32": "<f4"}
_MAX_LENGTH = 2**32 - 1


class PackedFileError(ValueError):
    """A file that is not a readable packed Q-SNN: the message says which check failed."""


def write_packed(path: str | os.PathLike, manifest: Mapping, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``manifest`` (JSON-serialisable, without an ``"arrays"`` key) and ``arrays`` atomically.

    Arrays are written in the mapping's order, each C-contiguous, little-endian, at its offset.

    Raises
    ------
    ValueError
        An array of a dtype not in :data:`DTYPES`, a manifest with an ``"arrays"`` key, or a file
        larger than the format's 4 GiB limits.
    """
    if "arrays" in manifest:
        raise ValueError('manifest must not hold an "arrays" key: write_packed builds the array table')
    table, chunks, offset = [], [], 0
    for name, a in arrays.items():
        a = np.asarray(a)
        key = a.dtype.name  # the same for either byte order
        if key not in DTYPES:
            raise ValueError(f"array {name!r} has dtype {a.dtype}; the format holds {', '.join(DTYPES)}")
        data = np.ascontiguousarray(a, dtype=DTYPES[key]).tobytes()
        table.append([name, key, list(a.shape), offset])
        chunks.append(data)
        offset += len(data)
    meta = json.dumps({**manifest, "arrays": table}, separators=(",", ":"), sort_keys=False).encode("utf-8")
    payload = b"".join(chunks)
    if len(meta) > _MAX_LENGTH or len(payload) > _MAX_LENGTH:
        raise ValueError(f"manifest ({len(meta)} B) or payload ({len(payload)} B) exceeds the format's 4 GiB limit")
    crc = zlib.crc32(payload, zlib.crc32(meta))
    header = _HEADER.pack(MAGIC, VERSION, 0, len(meta), len(payload), crc)
    path = Path(path)
    atomic_write_bytes(path, header + meta + payload)
    return path


def header_fields(data: bytes, where: str = "the file") -> dict:
    """The header of ``data`` as a dict (magic, version, manifest and payload lengths, CRC), checked.

    Raises
    ------
    PackedFileError
        Too short for a header, a foreign magic, an unknown version, or lengths that do not match the size.
    """
    if not MAGIC.startswith(bytes(data[:len(MAGIC)])):
        raise PackedFileError(f"{where} is not a packed Q-SNN: it starts with {bytes(data[:8])!r}, not {MAGIC!r} "
                              f"(write one with qsnn.deploy.export)")
    if len(data) < HEADER:
        raise PackedFileError(f"{where} is truncated: {len(data)} bytes, shorter than the {HEADER}-byte header "
                              f"of a packed Q-SNN")
    magic, version, reserved, m, p, crc = _HEADER.unpack_from(data)
    if version != VERSION:
        raise PackedFileError(f"{where} has format version {version}; this qsnn reads version {VERSION} "
                              f"(export the model again with this version of qsnn)")
    if reserved != 0:
        raise PackedFileError(f"{where} has a non-zero reserved header field ({reserved}): it is corrupted")
    if len(data) != HEADER + m + p:
        state = "truncated" if len(data) < HEADER + m + p else "longer than its header says"
        raise PackedFileError(f"{where} is {state}: {len(data)} bytes, the header announces "
                              f"{HEADER} + {m} (manifest) + {p} (payload) = {HEADER + m + p}")
    return {"magic": magic, "version": version, "manifest_bytes": m, "payload_bytes": p, "crc32": crc}


def read_packed(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """``(manifest, arrays)`` of a file written by :func:`write_packed`; arrays are read-only views.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    PackedFileError
        If it is truncated, corrupted (CRC), foreign (magic), of an unknown version, or its manifest
        or array table is invalid; the message names the check.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (or is not a file)")
    data = path.read_bytes()
    h = header_fields(data, str(path))
    m, p = h["manifest_bytes"], h["payload_bytes"]
    meta, payload = data[HEADER:HEADER + m], memoryview(data)[HEADER + m:]
    if zlib.crc32(payload, zlib.crc32(meta)) != h["crc32"]:
        raise PackedFileError(f"{path} is corrupted: its CRC-32 does not match its contents")
    try:
        manifest = json.loads(meta.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackedFileError(f"{path} has an invalid manifest ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("arrays"), list):
        raise PackedFileError(f"{path} has a manifest without an array table")
    arrays = {}
    for entry in manifest.pop("arrays"):
        try:
            name, dtype, shape, offset = entry
            shape = tuple(int(s) for s in shape)
            ok = isinstance(name, str) and dtype in DTYPES and all(s >= 0 for s in shape) and int(offset) >= 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise PackedFileError(f"{path} has an invalid array table entry {entry!r}")
        size = int(np.prod(shape, dtype=np.int64)) * np.dtype(DTYPES[dtype]).itemsize
        if offset + size > p:
            raise PackedFileError(f"{path}: array {name!r} ({dtype} {list(shape)}) reaches beyond the payload")
        arrays[name] = np.frombuffer(payload, dtype=DTYPES[dtype], count=size // np.dtype(DTYPES[dtype]).itemsize,
                                     offset=offset).reshape(shape)
    return manifest, arrays


def lif_entry(spec: LIFSpec) -> dict:
    """The manifest's ``"lif"`` entry of a :class:`qsnn.nn.lifspec.LIFSpec`: what inference needs (decay,
    threshold, reset, membrane bits and quantizer; the scale of every layer is stored with the layer)."""
    return {"decay": spec.decay, "threshold": spec.threshold, "reset": spec.reset, "membrane_bits": spec.bits,
            "quantizer": spec.active_quantizer}


def lif_spec(entry: Mapping) -> LIFSpec:
    """The :class:`qsnn.nn.lifspec.LIFSpec` of a manifest's ``"lif"`` entry (surrogate and detach_reset, which
    inference does not use, at their defaults).

    Raises
    ------
    KeyError, TypeError, ValueError
        A missing field, or a value a LIFSpec does not accept.
    """
    return LIFSpec(threshold=entry["threshold"], decay=entry["decay"], reset=entry["reset"],
                   bits=entry["membrane_bits"], quantizer=entry["quantizer"] or "uniform")
