"""A folder held by one process at a time: a lock file with the owner's pid, stale locks taken over.

Training runs and experiment runs write into folders; two processes writing the same folder would let the
last writer win silently. :func:`hold_folder` makes the second one stop at once with a message that names
the folder and the holder. A lock left by a process that no longer exists (killed, machine rebooted on
the same host) is taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Iterator

__all__ = ["FolderBusyError", "hold_folder", "held_here", "is_held", "LOCK_NAME"]

LOCK_NAME = ".lock"


class FolderBusyError(RuntimeError):
    """Another live process holds the folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read(lock: Path) -> dict | None:
    try:
        return json.loads(lock.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # half-written or foreign: treated as stale once old enough


def _stale(info: dict | None, lock: Path) -> bool:
    if info is None:
        return False
    if info.get("host") not in (None, socket.gethostname()):
        return False  # cannot tell whether a process on another host lives
    pid = info.get("pid")
    if isinstance(pid, int):
        return pid != os.getpid() and not _alive(pid)
    try:  # unreadable lock: stale once it has sat for a few seconds (its writer died mid-write)
        return time.time() - lock.stat().st_mtime > 5.0
    except FileNotFoundError:
        return False


def acquire(folder: str | os.PathLike, what: str = "run") -> Path:
    """Take the lock of ``folder`` (created if missing) and return the lock file's path.

    Raises
    ------
    FolderBusyError
        If a live process holds it; the message names the folder and the holder's pid.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    payload = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(), "what": what})
    for _ in range(5):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            info = _read(lock)
            if _stale(info, lock):
                # Only one contender wins the rename; the others retry and then see the new owner's lock.
                with contextlib.suppress(FileNotFoundError):
                    os.rename(lock, folder / f"{LOCK_NAME}.stale-{os.getpid()}")
                    os.unlink(folder / f"{LOCK_NAME}.stale-{os.getpid()}")
                continue
            if info is None:
                continue  # released between our two calls
            holder = f"process {info.get('pid', '?')} on {info.get('host', '?')}" if info else "another process"
            raise FolderBusyError(
                f"{folder} is in use by {holder} (lock file {lock}); wait for it to finish, or choose "
                f"another folder. If no such process runs, delete {lock}."
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(payload)
        return lock
    raise FolderBusyError(f"could not take the lock {lock}: it keeps changing hands; try again")


def release(lock: Path) -> None:
    """Remove ``lock`` if this process still owns it."""
    info = _read(lock)
    if info and info.get("pid") == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


@contextlib.contextmanager
def hold_folder(folder: str | os.PathLike, what: str = "run") -> Iterator[Path]:
    """Hold ``folder`` for the duration of the ``with`` block (see :func:`acquire`)."""
    lock = acquire(folder, what)
    try:
        yield lock
    finally:
        release(lock)


def held_here(folder: str | os.PathLike) -> bool:
    """True when this very process holds ``folder`` (so a nested holder need not take it again)."""
    info = _read(Path(folder) / LOCK_NAME)
    return bool(info) and info.get("pid") == os.getpid() and info.get("host") in (None, socket.gethostname())


def is_held(folder: str | os.PathLike) -> bool:
    """Whether a live process holds ``folder`` now (a stale or missing lock: False)."""
    lock = Path(folder) / LOCK_NAME
    info = _read(lock)
    return info is not None and not _stale(info, lock)
