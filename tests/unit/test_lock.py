"""Folder locks: one holder at a time, stale locks taken over, races decided once."""

import json
import multiprocessing as mp
import os
import subprocess
import sys

import pytest

from qsnn._core.lock import LOCK_NAME, FolderBusyError, acquire, hold_folder, release


def test_second_holder_is_refused_with_folder_and_pid(tmp_path):
    """A live holder makes the second acquire fail, naming folder and pid."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": child.pid, "host": os.uname().nodename}))
        with pytest.raises(FolderBusyError, match=rf"{tmp_path}.*process {child.pid}"):
            acquire(tmp_path)
    finally:
        child.kill()
        child.wait()


def test_stale_lock_of_dead_process_is_taken_over(tmp_path):
    """A lock whose pid no longer exists is replaced by ours."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": child.pid, "host": os.uname().nodename}))
    with hold_folder(tmp_path) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()


def test_release_leaves_a_foreign_lock(tmp_path):
    """release() removes only a lock this process owns."""
    lock = tmp_path / LOCK_NAME
    lock.write_text(json.dumps({"pid": 1, "host": "elsewhere"}))
    release(lock)
    assert lock.exists()


def _contend(folder, queue):
    try:
        acquire(folder)
        queue.put("won")
        import time

        time.sleep(1.0)
    except FolderBusyError:
        queue.put("busy")


def test_concurrent_acquire_has_exactly_one_winner(tmp_path):
    """Four processes racing for one folder: one wins, three are refused."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(tmp_path, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = sorted(queue.get(timeout=60) for _ in procs)
    for p in procs:
        p.join()
    assert results == ["busy", "busy", "busy", "won"]
