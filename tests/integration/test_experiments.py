"""Tests of qsnn.experiments: the specification, the resumable runner (with fault injection and two
concurrent runners), load_run, the summary with paired confidence intervals, and the command line."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from qsnn._core.lock import acquire, release
from qsnn.experiments import (Experiment, checkpoint_folder, is_complete, load_run, paired_difference, run_experiment, run_folder,
                              status, summarize)
from qsnn.experiments.__main__ import main
from qsnn.train import TrainConfig, evaluate

REPO = Path(__file__).resolve().parents[2]

# A tiny net on the digits: one epoch, one time step, a few seconds per run.
BASE = {"model": "small", "model_kwargs": {"widths": [4, 4, 8], "weight_bits": 1, "membrane_bits": 4},
        "dataset": "digits", "time_steps": 1, "epochs": 1, "batch_size": 128, "device": "cpu", "threads": 1}
ARMS = {"fp": {"model_kwargs.weight_bits": 32, "model_kwargs.membrane_bits": None, "lambda_sr": 0.0},
        "q": {}}


def tiny(seeds=(0, 1), **kw) -> Experiment:
    return Experiment(name="tiny", base=dict(BASE, **kw), arms=ARMS, seeds=list(seeds))


def write_spec(folder: Path, exp: Experiment) -> Path:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(exp.to_dict()), encoding="utf-8")
    return path


# -- specification ----------------------------------------------------------------------------------------


def test_arms_override_base_with_dotted_keys_and_share_seeds():
    exp = tiny(seeds=(3, 5))
    assert exp.runs() == [("fp", 3), ("fp", 5), ("q", 3), ("q", 5)]
    fp, q = exp.config("fp", 5), exp.config("q", 5)
    assert fp.model_kwargs == {"widths": [4, 4, 8], "weight_bits": 32, "membrane_bits": None}
    assert q.model_kwargs == BASE["model_kwargs"] and fp.seed == q.seed == 5
    assert fp.lambda_sr == 0.0 and q.lambda_sr == TrainConfig().lambda_sr
    # a run never writes outside its folder, never resumes a foreign checkpoint
    assert (q.checkpoint_dir, q.output_dir, q.resume, q.progress) == (None, None, False, False)
    assert exp.comparisons() == (("q", "fp"),)


def test_from_yaml_round_trip_and_name_from_folder(tmp_path):
    exp = tiny()
    path = write_spec(tmp_path / "grid", exp)
    text = path.read_text().replace("name: tiny\n", "")
    path.write_text(text)
    back = Experiment.from_yaml(path)
    assert back.name == "grid" and back.arms == exp.arms and back.seeds == exp.seeds and back.base == exp.base


@pytest.mark.parametrize("text, message", [
    ("arms: {a: {}}\n", "needs seeds"),
    ("seeds: [0]\n", "needs arms"),
    ("arms: {a: {}}\nseeds: [0]\nepochs: 3\n", "unknown experiment keys: epochs"),
    ("arms: {a: {}}\nseeds: [0, 0]\n", "distinct"),
    ("arms: {a: {}}\nseeds: [-1]\n", "integers >= 0"),
    ("arms: {a: {}}\nseeds: []\n", "non-empty"),
    ("arms: {}\nseeds: [0]\n", "at least one arm"),
    ("arms: {a: {epochs: 0}}\nseeds: [0]\n", "arm a: "),
    ("arms: {a: {colour: red}}\nseeds: [0]\n", "arm a: unknown configuration keys: colour"),
    ("arms: {a: {seed: 3}}\nseeds: [0]\n", "must not set seed"),
    ("base: {seed: 3}\narms: {a: {}}\nseeds: [0]\n", "must not set seed"),
    ("arms: {a: {}}\nseeds: [0]\ncompare: [[a, b]]\n", "compare takes pairs"),
    ("arms: {a/b: {}}\nseeds: [0]\n", "plain names"),
    ("arms: [a, b]\nseeds: [0]\n", "at least one arm"),
    ("- 1\n", "must hold a mapping"),
    ("arms: {a: {}\n", "not valid YAML"),
])
def test_bad_specifications_are_refused_with_the_file_named(tmp_path, text, message):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        Experiment.from_yaml(path)
    assert str(path) in str(err.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        Experiment.from_yaml(tmp_path / "nope.yaml")


def test_with_base_overrides_every_arm():
    exp = tiny().with_base({"epochs": 2, "model_kwargs.widths": [2, 2, 2]}, seeds=[7])
    assert exp.seeds == (7,) and all(exp.config(a, 7).epochs == 2 for a in exp.arms)
    assert exp.config("fp", 7).model_kwargs["widths"] == [2, 2, 2]


# -- running, the run folder, load_run -------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("grid")
    exp = tiny()
    epochs = []
    outcome = run_experiment(exp, root, on_epoch=lambda arm, seed, rec: epochs.append((arm, seed, rec["epoch"])))
    return exp, root, outcome, epochs


def test_every_run_writes_a_complete_folder(grid):
    exp, root, outcome, epochs = grid
    seed_by_seed = [(a, s) for s in exp.seeds for a in exp.arms]  # every arm of a seed before the next
    assert outcome.trained == seed_by_seed and outcome.skipped == outcome.busy == []
    assert epochs == [(a, s, 1) for a, s in seed_by_seed]
    assert sorted(p.name for p in root.iterdir()) == ["fp", "q"]
    for arm, seed in exp.runs():
        folder = run_folder(root, arm, seed)
        assert sorted(p.name for p in folder.parent.iterdir()) == ["seed0", "seed1"]  # no partial, no claim
        assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "metrics.json", "model.pt"]
        assert TrainConfig.from_yaml(folder / "config.yaml") == exp.config(arm, seed)
        metrics = json.loads((folder / "metrics.json").read_text())
        assert 0.0 <= metrics["test_acc"] <= 1.0 and (metrics["arm"], metrics["seed"]) == (arm, seed)
        assert len(metrics["history"]) == 1 and metrics["history"][0]["test_acc"] == metrics["test_acc"]
        assert metrics["best_epoch"] == 1 and metrics["best_test_acc"] == metrics["test_acc"]
        state = torch.load(folder / "model.pt", weights_only=True)
        assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_load_run_gives_the_trained_model(grid):
    from qsnn.data import get_loaders

    exp, root, _, _ = grid
    run = load_run(run_folder(root, "q", 1))
    assert run.config == exp.config("q", 1) and not run.model.training
    loaders = get_loaders("digits", batch_size=128, seed=1)
    result = evaluate(run.model, loaders.test, run.config.time_steps)
    assert result.accuracy == pytest.approx(run.metrics["test_acc"], abs=1e-12)
    assert result.rates == pytest.approx(run.metrics["test_rates"], abs=1e-6)


def test_finished_runs_are_skipped(grid):
    exp, root, _, _ = grid
    before = {r: (run_folder(root, *r) / "model.pt").stat().st_mtime_ns for r in exp.runs()}
    outcome = run_experiment(exp, root)
    assert outcome.trained == [] and sorted(outcome.skipped) == sorted(exp.runs())
    assert before == {r: (run_folder(root, *r) / "model.pt").stat().st_mtime_ns for r in exp.runs()}
    assert set(status(exp, root).values()) == {"done"}


def test_load_run_refuses_incomplete_and_mismatched_folders(grid, tmp_path):
    import shutil

    _, root, _, _ = grid
    with pytest.raises(FileNotFoundError, match="model.pt missing"):
        bad = tmp_path / "half"
        bad.mkdir()
        (bad / "config.yaml").write_text((run_folder(root, "q", 0) / "config.yaml").read_text())
        (bad / "metrics.json").write_text("{}")
        load_run(bad)
    other = tmp_path / "other"
    shutil.copytree(run_folder(root, "q", 0), other)
    shutil.copy(run_folder(root, "fp", 0) / "config.yaml", other / "config.yaml")
    torch.save({"nothing": torch.zeros(1)}, other / "model.pt")
    with pytest.raises(ValueError, match="does not hold the weights"):
        load_run(other)


def test_a_run_claimed_by_a_live_process_is_skipped(tmp_path):
    exp = tiny(seeds=(0,))
    lock = acquire(tmp_path / "fp" / ".seed0.claim")  # this process holds it: a live holder
    try:
        assert status(exp, tmp_path)[("fp", 0)] == "running"
        outcome = run_experiment(exp, tmp_path)
    finally:
        release(lock)
    assert outcome.busy == [("fp", 0)] and outcome.trained == [("q", 0)]
    assert not is_complete(run_folder(tmp_path, "fp", 0))
    assert status(exp, tmp_path) == {("fp", 0): "missing", ("q", 0): "done"}


# -- fault injection: a killed grid, two concurrent runners ------------------------------------------------

RUNNER = textwrap.dedent("""
    import json, os, signal, sys
    sys.path.insert(0, {repo!r})
    from qsnn.experiments import Experiment, run_experiment
    exp = Experiment.from_yaml(sys.argv[1])
    kill_at = sys.argv[3] if len(sys.argv) > 3 else None
    def on_epoch(arm, seed, record):
        if f"{{arm}}/{{seed}}" == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # dies after fit, before the run folder is written
    out = run_experiment(exp, sys.argv[2], on_epoch=on_epoch)
    print(json.dumps({{"trained": out.trained, "skipped": out.skipped, "busy": out.busy}}))
""")


def _runner(tmp_path: Path) -> Path:
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(repo=str(REPO)))
    return script


def _env():
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))


def test_a_killed_grid_resumes_without_losing_or_duplicating_a_run(tmp_path):
    exp = tiny(seeds=(0, 1))
    spec, root = write_spec(tmp_path / "spec", exp), tmp_path / "runs"
    died = subprocess.run([sys.executable, str(_runner(tmp_path)), str(spec), str(root), "q/0"], env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert died.returncode == -9, died.stderr
    done = [r for r in exp.runs() if is_complete(run_folder(root, *r))]
    assert done == [("fp", 0)]  # seed by seed: fp/0, then q/0 (killed)
    assert list((root / "q").glob(".seed0.partial-*"))  # the killed run left its partial folder ...
    assert status(exp, root)[("q", 0)] == "missing"  # ... and a stale claim, which counts for nothing
    kept = {r: (run_folder(root, *r) / "model.pt").stat().st_mtime_ns for r in done}
    outcome = run_experiment(exp, root)
    assert outcome.trained == [("q", 0), ("fp", 1), ("q", 1)] and outcome.skipped == done
    assert kept == {r: (run_folder(root, *r) / "model.pt").stat().st_mtime_ns for r in done}
    assert sorted(p.name for p in (root / "q").iterdir()) == ["seed0", "seed1"]  # partial folder cleaned
    assert all(is_complete(run_folder(root, *r)) for r in exp.runs())


def test_a_run_killed_mid_training_resumes_from_its_epoch_checkpoint_exactly(tmp_path):
    """A runner killed after epoch 1 of 2 leaves a checkpoint; the next runner resumes it to the same run."""
    exp = Experiment(name="tiny", base=dict(BASE, epochs=2), arms={"q": {}}, seeds=[0])
    spec, root = write_spec(tmp_path / "spec", exp), tmp_path / "runs"
    died = subprocess.run([sys.executable, str(_runner(tmp_path)), str(spec), str(root), "q/0"], env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert died.returncode == -9, died.stderr
    assert (checkpoint_folder(root, "q", 0) / "last.pt").is_file() and not is_complete(run_folder(root, "q", 0))
    assert run_experiment(exp, root).trained == [("q", 0)]
    assert run_experiment(exp, tmp_path / "straight").trained == [("q", 0)]
    resumed, straight = load_run(run_folder(root, "q", 0)), load_run(run_folder(tmp_path / "straight", "q", 0))
    assert resumed.metrics["resumed_after_epoch"] == 1 and "resumed_after_epoch" not in straight.metrics
    drop = lambda h: [{k: v for k, v in r.items() if k != "epoch_time"} for r in h]  # noqa: E731
    assert drop(resumed.metrics["history"]) == drop(straight.metrics["history"])
    a, b = resumed.model.state_dict(), straight.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.metrics["train_seconds"] >= resumed.metrics["history"][0]["epoch_time"]
    assert resumed.config == straight.config and resumed.config.checkpoint_dir is None
    assert not checkpoint_folder(root, "q", 0).exists()  # gone once the run landed


def test_two_concurrent_runners_share_the_grid_and_never_train_a_run_twice(tmp_path):
    exp = tiny(seeds=(0, 1, 2))
    spec, root = write_spec(tmp_path / "spec", exp), tmp_path / "runs"
    script = _runner(tmp_path)
    procs = [subprocess.Popen([sys.executable, str(script), str(spec), str(root)], env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        assert p.returncode == 0, stderr
        outs.append(json.loads(stdout.strip().splitlines()[-1]))
    trained = [tuple(r) for o in outs for r in o["trained"]]
    assert len(trained) == len(set(trained))  # no run trained twice
    assert all(is_complete(run_folder(root, *r)) for r in exp.runs())
    # every run is trained by one of them; the other saw it finished or claimed
    assert set(trained) == set(exp.runs())
    for o in outs:
        seen = {tuple(r) for k in ("trained", "skipped", "busy") for r in o[k]}
        assert seen == set(exp.runs())


# -- summary and command line -------------------------------------------------------------------------------


def test_paired_difference_golden_values():
    d = paired_difference({0: 1.0, 1: 2.0, 2: 4.0}, {0: 0.0, 1: 0.0, 2: 1.0})
    half = 4.3026527 / math.sqrt(3)  # t_{0.975, 2}, tabulated to 8 digits
    assert (d["mean"], d["std"], d["n"]) == (2.0, 1.0, 3)
    assert d["ci"] == pytest.approx([2.0 - half, 2.0 + half], abs=1e-7)
    assert d["per_seed"] == {0: 1.0, 1: 2.0, 2: 3.0}


def test_paired_difference_uses_common_seeds_only_and_needs_two_for_an_interval():
    d = paired_difference({0: 1.0, 1: 5.0}, {1: 2.0, 2: 0.0})
    assert d["seeds"] == [1] and d["mean"] == 3.0 and d["ci"] is None
    with pytest.raises(ValueError, match="no common seeds"):
        paired_difference({0: 1.0}, {1: 1.0})
    with pytest.raises(ValueError, match="confidence"):
        paired_difference({0: 1.0}, {0: 1.0}, confidence=1.0)


def test_pairing_removes_the_shared_seed_variance():
    # per-seed offsets shared by both arms: unpaired spreads are large, the paired difference is exact
    a = {s: 0.5 + 0.1 * s + 0.02 for s in range(4)}
    b = {s: 0.5 + 0.1 * s for s in range(4)}
    d = paired_difference(a, b)
    assert d["mean"] == pytest.approx(0.02) and d["ci"][1] - d["ci"][0] < 1e-12


def test_summarize_reads_the_runs(grid):
    exp, root, _, _ = grid
    s = summarize(exp, root)
    acc = {a: {k: json.loads((run_folder(root, a, k) / "metrics.json").read_text())["test_acc"]
               for k in exp.seeds} for a in exp.arms}
    assert s["arms"]["q"]["per_seed"] == acc["q"] and s["arms"]["q"]["n"] == 2
    assert s["arms"]["fp"]["mean"] == pytest.approx(sum(acc["fp"].values()) / 2)
    d = s["differences"]["q - fp"]
    assert d["per_seed"] == {k: acc["q"][k] - acc["fp"][k] for k in exp.seeds}


def test_command_line_status_summary_and_run(grid, tmp_path, capsys):
    exp, root, _, _ = grid
    spec = write_spec(tmp_path / "spec", exp)
    assert main(["status", str(spec), "--root", str(root)]) == 0
    assert "4 of 4 runs done" in capsys.readouterr().out
    assert main(["summary", str(spec), "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "q - fp" in out and "95 % confidence interval" in out
    assert main(["run", str(spec), "--root", str(root), "--no-progress"]) == 0
    assert "0 trained, 0 copied, 4 finished earlier" in capsys.readouterr().out
    empty = tmp_path / "empty"
    assert main(["status", str(spec), "--root", str(empty)]) == 0
    assert "0 of 4 runs done" in capsys.readouterr().out


def test_command_line_reports_a_bad_spec(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("arms: {a: {}}\n")
    assert main(["run", str(path)]) == 2
    assert "needs seeds" in capsys.readouterr().err


def test_a_run_of_the_same_configuration_is_copied_not_trained(grid, tmp_path):
    exp, root, _, _ = grid
    other = Experiment(name="other", base=BASE, arms={"same": {}, "narrow": {"model_kwargs.widths": [2, 2, 2]}},
                       seeds=[1])
    seen = []
    outcome = run_experiment(other, tmp_path, reuse=[root], on_epoch=lambda *a: seen.append(a[:2]))
    assert outcome.copied == [("same", 1)] and outcome.trained == [("narrow", 1)] and seen == [("narrow", 1)]
    copied = load_run(run_folder(tmp_path, "same", 1))
    assert copied.metrics["copied_from"] == f"{root.name}/q/seed1" and copied.metrics["arm"] == "same"
    original = torch.load(run_folder(root, "q", 1) / "model.pt", weights_only=True)
    assert all(torch.equal(v, copied.model.state_dict()[k]) for k, v in original.items())


def test_open_grid_reads_committed_runs_and_refuses_what_they_cannot_answer(grid, tmp_path):
    import shutil

    from qsnn.experiments import open_grid

    exp, root, _, _ = grid
    folder = tmp_path / "committed"
    shutil.copytree(root, folder)
    spec = write_spec(folder, exp)
    read, runs = open_grid(spec)
    assert read.runs() == exp.runs() and [r.config.seed for r in runs["q"]] == [0, 1]
    assert runs["fp"][1].metrics == json.loads((run_folder(root, "fp", 1) / "metrics.json").read_text())
    with pytest.raises(ValueError, match="retrain=True"):
        open_grid(spec, overrides={"epochs": 2})
    shutil.rmtree(run_folder(folder, "q", 1))
    with pytest.raises(FileNotFoundError, match="q/seed1"):
        open_grid(spec)
    # a grid still being trained: the finished runs only, each knowing its seed
    _, partial = open_grid(spec, finished_only=True)
    assert [r.config.seed for r in partial["q"]] == [0] and [r.config.seed for r in partial["fp"]] == [0, 1]
    # retrain into a given folder (resumable), with the overrides applied; finished runs copied by reuse
    again, fresh = open_grid(spec, retrain=True, root=tmp_path / "again", reuse=[root])
    assert (tmp_path / "again" / "tiny" / "q" / "seed1").is_dir()  # <root>/<experiment name>
    assert fresh["q"][1].metrics["copied_from"].endswith("q/seed1")


def test_locate_finds_book_files_from_a_folder_below_the_repository(tmp_path, monkeypatch):
    from qsnn.experiments import locate

    (tmp_path / "book" / "experiments" / "g").mkdir(parents=True)
    (tmp_path / "book" / "experiments" / "g" / "experiment.yaml").write_text("x: 1\n")
    (tmp_path / "runs" / "ch-1").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "runs" / "ch-1")  # where python -m qsnn.book chapter executes
    found = locate("experiments/g/experiment.yaml")
    assert found.resolve() == (tmp_path / "book" / "experiments" / "g" / "experiment.yaml").resolve()
    with pytest.raises(FileNotFoundError, match="nothing/here.yaml not found"):
        locate("nothing/here.yaml")


def test_locate_data_prefers_the_given_folder_then_the_repositorys(tmp_path, monkeypatch):
    from qsnn.experiments import locate_data

    (tmp_path / "data").mkdir()
    (tmp_path / "runs" / "ch-1").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "runs" / "ch-1")
    monkeypatch.delenv("QSNN_BOOK", raising=False)
    assert locate_data("/somewhere/else") == Path("/somewhere/else")
    assert locate_data().resolve() == (tmp_path / "data").resolve()
    (tmp_path / "data").rmdir()
    above = [p for p in tmp_path.parents if (p / "data").exists() or (p / "book" / "data").exists()]
    if not above:  # nothing found: relative, for the loaders' own fallbacks
        assert locate_data() == Path("data")


def test_locate_finds_the_book_of_the_chapter_being_run(tmp_path, monkeypatch):
    """A chapter run with --out outside the repository finds its committed grid through QSNN_BOOK."""
    from qsnn.experiments import locate

    book = tmp_path / "repo" / "book"
    (book / "experiments" / "g").mkdir(parents=True)
    (book / "experiments" / "g" / "experiment.yaml").write_text("x: 1\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("QSNN_BOOK", raising=False)
    with pytest.raises(FileNotFoundError, match="experiments/g/experiment.yaml"):
        locate("experiments/g/experiment.yaml")
    monkeypatch.setenv("QSNN_BOOK", str(book))
    assert locate("experiments/g/experiment.yaml") == book / "experiments" / "g" / "experiment.yaml"
