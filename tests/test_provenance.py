"""Tests of qsnn.provenance: what a chapter's last cell reports."""

import subprocess

import qsnn
from qsnn import provenance


def test_collect_records_seed_parameters_and_versions():
    """The provenance dict carries the seed, the parameters and the package versions."""
    info = provenance.collect(seed=3, parameters={"alpha": 0.5})
    assert info["seed"] == 3
    assert info["parameters"] == {"alpha": 0.5}
    assert info["versions"]["qsnn"] == qsnn.__version__
    assert info["versions"]["numpy"]


def test_git_state_outside_a_checkout_is_none(tmp_path):
    """Outside a git checkout the commit is reported as unknown rather than failing."""
    assert provenance.git_state(tmp_path) == {"commit": None, "dirty": None}


def test_git_state_names_commit_and_dirtiness(tmp_path):
    """Inside a checkout the commit is a 40-character hash; a modified tracked file makes it dirty."""
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "f.txt").write_text("a")
    git("add", "f.txt")
    git("commit", "-qm", "init")
    clean = provenance.git_state(tmp_path)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False
    (tmp_path / "f.txt").write_text("b")
    assert provenance.git_state(tmp_path)["dirty"] is True


def test_report_prints_every_field(capsys):
    """The printed report names commit, seed, parameters, platform, cpu, gpu and versions."""
    provenance.report(seed=1, parameters={"n": 2})
    out = capsys.readouterr().out
    for field in ("git commit", "seed         1", "n=2", "python", "cpu", "gpu", "numpy"):
        assert field in out
