"""Tests of qsnn._core.specialise: a template module's constants set on disk, written once, in a writable
cache folder outside the package."""

from __future__ import annotations

import os
import textwrap

import pytest

import qsnn._core.specialise as sp

TEMPLATE = textwrap.dedent('''
    from numba import njit

    # --- specialisation: replaced by the loader ---
    K = 1
    FLAG = False
    # --- end of specialisation ---


    @njit(cache=True)
    def f(x):
        return x * K if FLAG else x + K
''')


@pytest.fixture
def template(tmp_path, monkeypatch):
    """A template module on sys.path and an empty cache folder."""
    src = tmp_path / "src"
    src.mkdir()
    name = f"qsnn_test_template_{os.getpid()}"
    (src / f"{name}.py").write_text(TEMPLATE)
    monkeypatch.syspath_prepend(str(src))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    sp.cache_dir.cache_clear()
    sp._load.cache_clear()
    yield name
    sp.cache_dir.cache_clear()
    sp._load.cache_clear()


def test_constants_are_set_in_the_copy(template):
    """The copy computes with the given constants."""
    assert sp.specialise(template, {"K": 3, "FLAG": True}).f(2) == 6
    assert sp.specialise(template, {"K": 3, "FLAG": False}).f(2) == 5


def test_one_combination_is_one_module_per_process(template):
    """Asking twice gives the same module object."""
    assert sp.specialise(template, {"K": 1, "FLAG": True}) is sp.specialise(template, {"FLAG": True, "K": 1})


def test_copy_lies_in_the_cache_folder_and_is_written_once(template, tmp_path):
    """The copy is written under XDG_CACHE_HOME/qsnn/kernels and not rewritten by a later process."""
    module = sp.specialise(template, {"K": 2, "FLAG": False})
    path = module.__file__
    assert path.startswith(str(tmp_path / "cache" / "qsnn" / "kernels"))
    before = os.stat(path).st_mtime_ns
    sp._load.cache_clear()  # as a new process would
    assert sp.specialise(template, {"K": 2, "FLAG": False}).__file__ == path
    assert os.stat(path).st_mtime_ns == before


def test_numba_cache_dir_is_preferred(template, tmp_path, monkeypatch):
    """With NUMBA_CACHE_DIR set, the copies go into its qsnn-kernels folder."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    sp.cache_dir.cache_clear()
    assert sp.cache_dir() == tmp_path / "numba" / "qsnn-kernels"


def test_read_only_cache_home_falls_back_to_a_temporary_folder(template, tmp_path, monkeypatch):
    """A cache home nobody may write into is skipped (the permission check is what decides, also for root,
    who could write into a folder with mode 0o500: so the check itself is made to say no here)."""
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o500)
    real_access = os.access
    monkeypatch.setattr(sp.os, "access", lambda path, mode: not str(path).startswith(str(home))
                        and real_access(path, mode))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    sp.cache_dir.cache_clear()
    try:
        folder = sp.cache_dir()
        assert not str(folder).startswith(str(home)) and real_access(folder, os.W_OK)
    finally:
        home.chmod(0o700)
        sp.cache_dir.cache_clear()


def test_unwritable_candidates_are_skipped(template, tmp_path, monkeypatch):
    """A candidate folder that cannot be created (a file is in the way) is skipped."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    sp.cache_dir.cache_clear()
    folder = sp.cache_dir()
    assert not str(folder).startswith(str(blocker)) and os.access(folder, os.W_OK)


def test_a_folder_others_may_write_into_is_refused(template, tmp_path):
    """numba's pickled index files and the imported sources must not come from a folder another user can
    change: a cache folder writable by group or others is skipped, and one made private is used."""
    shared = tmp_path / "cache" / "qsnn" / "kernels"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    sp.cache_dir.cache_clear()
    assert sp.cache_dir() != shared
    shared.chmod(0o755)
    sp.cache_dir.cache_clear()
    assert sp.cache_dir() == shared


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="ownership is a POSIX notion")
def test_a_folder_owned_by_another_user_is_refused(template, tmp_path, monkeypatch):
    """A cache folder made first by another user (here: this user seen as someone else) is skipped, and
    the folder used instead is this user's own."""
    mine = tmp_path / "cache" / "qsnn" / "kernels"
    mine.mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(sp.tempfile, "tempdir", str(tmp_path / "tmp"))  # the fallbacks stay in tmp_path
    me = os.getuid()
    monkeypatch.setattr(sp.os, "getuid", lambda: me + 1)
    sp.cache_dir.cache_clear()
    assert sp.cache_dir() != mine
    monkeypatch.setattr(sp.os, "getuid", lambda: me)
    sp.cache_dir.cache_clear()
    assert sp.cache_dir() == mine


def test_constants_must_match_the_template(template):
    """A missing or unknown constant is an error naming both sets."""
    with pytest.raises(ValueError, match="FLAG"):
        sp.specialise(template, {"K": 1})
    with pytest.raises(ValueError, match="OTHER"):
        sp.specialise(template, {"K": 1, "FLAG": True, "OTHER": 0})


def test_template_without_markers_is_refused(template, tmp_path):
    """A module without the block of constants cannot be specialised."""
    (tmp_path / "src" / f"{template}_plain.py").write_text("X = 1\n")
    with pytest.raises(ValueError, match="no block of constants"):
        sp.specialise(f"{template}_plain", {"X": 2})


def test_a_changed_dependency_gives_a_new_copy(template, tmp_path):
    """The copy's name hashes the modules the template calls into."""
    dep = tmp_path / "src" / f"{template}_dep.py"
    dep.write_text("A = 1\n")
    first = sp.specialise(template, {"K": 1, "FLAG": True}, depends=(f"{template}_dep",)).__file__
    dep.write_text("A = 2\n")
    sp._load.cache_clear()
    assert sp.specialise(template, {"K": 1, "FLAG": True}, depends=(f"{template}_dep",)).__file__ != first
