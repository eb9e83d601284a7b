"""Tests of qsnn._core.atomic: whole files or nothing, with the permissions of an ordinary new file."""

import os
import stat
import subprocess
import sys

import pytest

from qsnn._core.atomic import atomic_write, atomic_write_bytes, atomic_write_text, new_file_mode


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077, 0o027])
def test_written_files_get_the_usual_permissions(tmp_path, umask):
    """A file written atomically has mode 0666 & ~umask, like one written with open() (not mkstemp's 0600)."""
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        atomic_write_bytes(tmp_path / "b.bin", b"\0")
        with open(tmp_path / "plain.txt", "w") as fh:
            fh.write("x")
        assert new_file_mode() == 0o666 & ~umask
    finally:
        os.umask(old)
    expected = _mode(tmp_path / "plain.txt")
    assert expected == 0o666 & ~umask
    assert _mode(tmp_path / "a.json") == expected
    assert _mode(tmp_path / "b.bin") == expected


def test_umask_is_read_in_a_fresh_process(tmp_path):
    """The mode follows the umask of the process that writes (here a child started with umask 002)."""
    code = ("import os; os.umask(0o002); from qsnn._core.atomic import atomic_write_text; "
            f"atomic_write_text({str(tmp_path / 'c.txt')!r}, 'x')")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert _mode(tmp_path / "c.txt") == 0o664


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    """An error inside the block keeps the previous content and removes the temporary file."""
    target = tmp_path / "r.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(target, "w") as fh:
            fh.write("new")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt"]


def test_unknown_mode_is_refused(tmp_path):
    """Only binary and text writing are offered."""
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w'"):
        with atomic_write(tmp_path / "x", "a"):
            pass
