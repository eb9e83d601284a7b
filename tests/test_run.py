"""Tests of qsnn.run: chapters re-run through papermill with other parameters."""

import json
import shutil
from pathlib import Path

import pytest

from qsnn import run

FIXTURE_BOOK = Path(__file__).parent / "fixtures" / "book"


@pytest.fixture
def book(tmp_path):
    """A copy of the tiny fixture book, so runs never touch the repository."""
    dst = tmp_path / "book"
    shutil.copytree(FIXTURE_BOOK, dst)
    return dst


def test_chapters_are_found_by_number_stem_and_name_part(book):
    """A chapter resolves from '1', '01', its stem or a unique part of its name."""
    for key in ("1", "01", "01_tiny", "tiny", "01_tiny.ipynb"):
        assert run.find_chapter(key, book).stem == "01_tiny"


def test_unknown_chapter_lists_the_chapters(book):
    """An unknown chapter name raises and lists the chapters there are."""
    with pytest.raises(run.ChapterRunError, match="unknown chapter 'nope'.*01_tiny"):
        run.find_chapter("nope", book)


def test_parameters_are_read_from_the_parameters_cell(book):
    """The declared parameters and their defaults come from the cell tagged 'parameters'."""
    params = run.find_chapter("01", book).parameters
    assert params == {"seed": 0, "n": 3, "scale": 0.5, "label": "base", "fail": False,
                      "results_dir": "../results"}


@pytest.mark.slow
def test_injected_parameters_take_effect(book, tmp_path):
    """A run with overrides executes the chapter with them and writes results into the run folder."""
    out = run.run_chapter("01", {"n": 7, "scale": 2, "label": "big"}, tmp_path / "r", book=book,
                          progress=False)
    got = json.loads((out / "results" / "01_tiny.json").read_text())
    assert got == {"n": 7, "scale": 2.0, "label": "big", "total": 14.0}
    assert (out / "01_tiny.ipynb").is_file()
    assert "chapter: 01_tiny" in (out / "parameters.yaml").read_text()


@pytest.mark.parametrize("overrides, message", [
    ({"nn": 1}, "unknown parameter 'nn'.*n, scale, label, fail"),
    ({"n": 1.5}, "parameter 'n' must be of type int"),
    ({"n": True}, "parameter 'n' must be of type int"),
    ({"scale": "big"}, "parameter 'scale' must be of type float"),
    ({"fail": 1}, "parameter 'fail' must be of type bool"),
    ({"results_dir": "x"}, "set by the runner"),
])
def test_bad_parameters_stop_before_anything_is_written(book, tmp_path, overrides, message):
    """An unknown name or a wrong type raises a clear error and creates no run folder."""
    with pytest.raises(run.ChapterRunError, match=message):
        run.run_chapter("01", overrides, tmp_path / "r", book=book, progress=False)
    assert list(tmp_path.iterdir()) == [book]


def test_float_parameter_accepts_yaml_exponent_strings(book):
    """YAML 1.1 reads '1e-3' as a string; a float parameter accepts it as the number."""
    chapter = run.find_chapter("01", book)
    assert run.check_parameters(chapter, {"scale": "1e-3"}) == {"scale": 0.001}


@pytest.mark.slow
def test_failing_chapter_leaves_no_partial_output(book, tmp_path):
    """A chapter that fails while executing raises, naming the error, and leaves nothing behind."""
    runs = tmp_path / "runs"
    with pytest.raises(RuntimeError, match="asked to fail"):
        run.run_chapter("01", {"fail": True}, runs / "r", book=book, progress=False)
    assert list(runs.iterdir()) == []


def test_existing_output_folder_is_not_overwritten(book, tmp_path):
    """A run never writes into an existing folder."""
    (tmp_path / "r").mkdir()
    with pytest.raises(run.ChapterRunError, match="already exists"):
        run.run_chapter("01", {}, tmp_path / "r", book=book, progress=False)


def test_cli_exit_code_and_message_for_bad_input(book, tmp_path, capsys):
    """The command line exits with 2 and a message for an unknown chapter, parameter or file."""
    assert run.main(["--book", str(book), "chapter", "zzz"]) == 2
    assert "unknown chapter" in capsys.readouterr().err
    assert run.main(["--book", str(book), "chapter", "01", "--set", "n=x", "--out", str(tmp_path / "o")]) == 2
    assert "must be of type int" in capsys.readouterr().err
    assert run.main(["--book", str(book), "chapter", "01", "--params", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_params_file_must_be_a_mapping(book, tmp_path, capsys):
    """A YAML file that is not a mapping of name: value is rejected with a message."""
    f = tmp_path / "p.yaml"
    f.write_text("- 1\n- 2\n")
    assert run.main(["--book", str(book), "chapter", "01", "--params", str(f)]) == 2
    assert "must hold a mapping" in capsys.readouterr().err


def test_config_without_execution_switches_execution_off():
    """The strict build's config is _config.yml with notebook execution off and nothing else changed."""
    import yaml

    base = yaml.safe_load((run.REPO / "_config.yml").read_text())
    derived = yaml.safe_load(run._config_without_execution(run.REPO / "_config.yml"))
    assert derived["execute"]["execute_notebooks"] == "off"
    derived["execute"]["execute_notebooks"] = base["execute"]["execute_notebooks"]
    assert derived == base


@pytest.mark.slow
def test_real_chapter_runs_with_injected_parameters(tmp_path):
    """Chapter 1 of the book, run through papermill, computes with the injected sizes and alphas."""
    overrides = {"n_trains": 300, "n_spikes": 12, "n_reference": 40, "alphas": [0.0, 2.0]}
    out = run.run_chapter("01", overrides, tmp_path / "run", progress=False)
    got = json.loads((out / "results" / "01_alexiewicz_norm.json").read_text())
    assert (got["n_trains"], got["n_spikes"], got["n_reference"]) == (300, 12, 40)
    assert got["alphas"] == ["0.0", "2.0"]
    assert got["subthreshold_ball_mismatches"] == 0
