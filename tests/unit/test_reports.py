"""Tests of qsnn.book.reports: the lines the training chapters print and the values they glue, on comparisons
made by hand (golden lines, glue names in order, values against qsnn.stats)."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from qsnn.book import reports
from qsnn.stats import interval_text, paired_difference, with_holm

LABELS = {"fp_snn": "full-precision SNN", "qsnn": "Q-SNN without WS-DR", "qsnn_wsdr": "Q-SNN + WS-DR"}


@pytest.fixture
def glued(monkeypatch):
    """The (name, stored text) of every glue, in order."""
    import IPython.display

    calls = []
    monkeypatch.setattr(IPython.display, "display", lambda data, raw, metadata: calls.append(
        (metadata["scrapbook"]["name"], data["application/papermill.record/text/plain"])))
    return calls


def _paired():
    a = {0: 0.90, 1: 0.95, 2: 0.97}
    b = {0: 0.91, 1: 0.93, 2: 0.92}
    c = {0: 0.99, 1: 0.99, 2: 0.99}
    return with_holm({"a - b": paired_difference(a, b), "b - c": paired_difference(b, c),
                      "a - c": paired_difference(a, c)}, "a - b")


def test_paired_text_golden_lines():
    paired = _paired()
    lines = reports.paired_text(paired).splitlines()
    d = paired["a - b"]
    assert lines[0] == (f"paired, a - b                {100 * d['mean']:+.2f} points, 95 % interval {interval_text(d)} "
                        f"(t over 3 seeds), p = {d['p']:.3f}  [primary]")
    assert lines[1].endswith(f", Holm-adjusted p = {paired['b - c']['p_holm']:.3f}")
    short = reports.paired_text(paired, width=6, per_seed=True, holm_label="Holm-adjusted").splitlines()
    assert short[0].startswith("paired, a - b  +2.00 points")
    assert short[0].endswith("; per seed -1.00, +2.00, +5.00")
    assert f", Holm-adjusted {paired['b - c']['p_holm']:.3f}; per seed" in short[1]


def test_paired_values_and_their_fields():
    d = _paired()["a - b"]
    v = reports.paired_values(d, ("mean", "ci", "p", "p_holm", "word", "ahead", "behind"))
    assert v["mean"] == pytest.approx(2.0) and v["ci"] == interval_text(d)
    assert (v["p"], v["p_holm"]) == (d["p"], d["p"])  # the primary comparison keeps its own p
    assert v["word"] == "not distinguishable from zero" and (v["ahead"], v["behind"]) == (2, 1)
    with pytest.raises(ValueError, match="unknown fields"):
        reports.paired_values(d, ("median",))


def test_glue_paired_names_values_and_verdicts_in_order(glued):
    paired = _paired()
    out = reports.glue_paired(paired, {"ab": "a - b", "bc": "b - c"}, verdicts={"ab": "x", "bc": "y"})
    assert [n for n, _ in glued] == ["d_ab_mean", "d_ab_ci", "d_ab_p", "d_ab_p_holm", "verdict_ab",
                                     "d_bc_mean", "d_bc_ci", "d_bc_p", "d_bc_p_holm", "verdict_bc"]
    assert out["d_bc_p_holm"] == pytest.approx(paired["b - c"]["p_holm"], rel=1e-5) and out["verdict_bc"] == "y"
    glued.clear()
    reports.glue_paired(paired, {"m": "a - c"}, fields=("word", "behind"), prefix="reset_")
    # all three seeds behind, but the interval (t over 3 seeds) holds zero: no direction
    assert glued == [("reset_m_word", "'not distinguishable from zero'"), ("reset_m_behind", "3")]


def test_report_accuracy_prints_the_table_and_glues_percent(glued, capsys):
    runs = {"qsnn": [SimpleNamespace(metrics={"test_acc": a}) for a in (0.5, 0.7)],
            "qsnn_wsdr": [SimpleNamespace(metrics={"test_acc": a}) for a in (0.9, 1.0)]}
    acc = reports.report_accuracy(runs, LABELS, [0, 1], width=20, per_seed=["qsnn_wsdr"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "variant                seed 0   seed 1       mean +- std"
    assert out[2] == "Q-SNN + WS-DR          90.00%  100.00%    95.00 +- 7.07%"
    assert acc["qsnn"]["mean"] == pytest.approx(0.6)
    assert [n for n, _ in glued] == ["acc_qsnn_mean", "acc_qsnn_std", "acc_qsnn_wsdr_mean", "acc_qsnn_wsdr_std",
                                     "acc_qsnn_wsdr_seed0", "acc_qsnn_wsdr_seed1"]
    assert glued[0][1] == "60.0" and glued[-1][1] == "100.0"
    glued.clear()
    reports.report_accuracy(runs, LABELS, [0, 1], prefix=None)
    assert glued == []


def test_mean_gap_text_golden():
    acc = {"qsnn_wsdr": {"mean": 0.9657, "std": 0.0163}, "qsnn": {"mean": 0.9713, "std": 0.0042}}
    assert reports.mean_gap_text(acc, "qsnn_wsdr", "qsnn", LABELS) == (
        "Q-SNN + WS-DR minus Q-SNN without WS-DR: -0.56 percentage points (sum of the two standard deviations: 2.05)")


def test_glue_per_layer_and_layer_rates(glued):
    reports.glue_per_layer([0.25, 0.5], "rate_")
    assert glued == [("rate_l1", "0.25"), ("rate_l2", "0.5")]
    glued.clear()
    reports.glue_layer_rates({"a": np.array([[0.5, 0.2], [0.5, 0.3]])}, ["a"])
    h = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    assert [n for n, _ in glued] == ["rate_a_l1", "rate_a_l2", "h_a_l1", "h_a_l2"]
    assert float(glued[1][1]) == pytest.approx(0.25) and float(glued[3][1]) == pytest.approx(h, rel=1e-5)


def test_glue_lambda_sweep_names_the_weight_with_a_p(glued):
    table = {0.005: {"test_acc": 0.9472, "rates": [0.2, 0.1, 0.3, 0.4], "distance_to_half": 0.3}}
    reports.glue_lambda_sweep(table, fields=("rate", "acc", "dist", "rate_min", "rate_max"))
    assert glued == [("lam_0p005_rate", "0.2"), ("lam_0p005_acc", "94.72"), ("lam_0p005_dist", "0.3"),
                     ("lam_0p005_rate_min", "0.1"), ("lam_0p005_rate_max", "0.3")]


def test_report_entropy_difference_against_the_definition(glued, capsys):
    rates = {"qsnn": np.array([[0.1, 0.2, 0.3], [0.1, 0.25, 0.3], [0.1, 0.3, 0.3]]),
             "qsnn_wsdr": np.array([[0.1, 0.4, 0.3], [0.1, 0.5, 0.3], [0.1, 0.45, 0.3]])}

    def h(p):
        return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))

    d, verdict = reports.report_entropy_difference(rates, [0, 1, 2], LABELS, digits=3)
    expected = paired_difference({s: h(rates["qsnn_wsdr"][s, 1]) for s in range(3)},
                                 {s: h(rates["qsnn"][s, 1]) for s in range(3)})
    assert d["mean"] == pytest.approx(expected["mean"]) and d["ci"] == pytest.approx(expected["ci"])
    assert verdict == "in line with the paper"
    line = capsys.readouterr().out.strip()
    assert line == (f"regulated layer, H(r) of Q-SNN + WS-DR minus Q-SNN without WS-DR: {d['mean']:+.3f} bit, "
                    f"95 % interval {interval_text(d, scale=1.0, digits=3)} (in line with the paper)")
    assert [n for n, _ in glued] == ["d_h_mean", "d_h_ci", "verdict_rates"]


def test_report_late_epochs(glued, capsys):
    def run(*acc):
        return SimpleNamespace(metrics={"history": [{"test_acc": a} for a in acc]})

    runs = {"qsnn": [run(0.5, 0.8, 0.6), run(0.5, 0.7, 0.7)], "qsnn_wsdr": [run(0.5, 0.9, 0.9), run(0.5, 0.8, 1.0)]}
    late, swing, d = reports.report_late_epochs(runs, [0, 1], LABELS, 2)
    assert late["qsnn"] == {0: pytest.approx(0.7), 1: pytest.approx(0.7)}
    assert swing == {"qsnn": pytest.approx(0.2), "qsnn_wsdr": pytest.approx(0.2)}
    assert d["per_seed"] == {0: pytest.approx(0.2), 1: pytest.approx(0.2)}
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Q-SNN without WS-DR  mean of the last 2 epochs 70.00%, largest swing within them 20.00 points"
    assert out[2].startswith("paired, qsnn_wsdr - qsnn (last 2 epochs) +20.00 points, 95 % interval")
    assert [n for n, _ in glued] == ["swing_qsnn", "swing_qsnn_wsdr"]


def test_sign_balance_table_and_its_report(glued, capsys):
    stats = {"qsnn": [{"fractions": np.array([0.25, 0.75])}, {"fractions": np.array([0.5])}]}
    text = reports.sign_balance_table(stats, LABELS)
    h = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    assert text.splitlines()[1].split() == ["Q-SNN", "without", "WS-DR", "1", "2", "0.500", "[0.25,", "0.75]", f"{h:.3f}"]
    summary = reports.report_sign_balance(stats, LABELS)
    assert capsys.readouterr().out.strip() == text
    assert summary["qsnn"][1] == {"mean": 0.5, "min": 0.5, "max": 0.5, "mean_entropy": 1.0}
    assert [n for n, _ in glued] == ["sign_h_qsnn_l1", "sign_h_qsnn_l2"]


def test_filter_share_text_golden():
    text = reports.filter_share_text({"qsnn": [np.array([0.25, 0.5, 0.6])]}, LABELS)
    assert text == "Q-SNN without WS-DR  binary layer 1: 3 filters, share of +1 0.450 [0.25, 0.60]"


def test_size_accuracy_text_and_glue_reported(glued):
    reported = {"C10": {"fp_snn": (36.91, 93.23), "qsnn": (1.20, 93.20)}}
    text = reports.size_accuracy_text(reported, {"qsnn": 0.00662}, {"qsnn": {"mean": 0.9713, "std": 0.0042}},
                                      LABELS, "measured:")
    assert text.splitlines() == [
        "reported (Wei et al. 2024, VGG-11, as tabulated by Liang et al. 2025, BSO):",
        "  C10                  FP SNN  36.91 MB 93.23%   Q-SNN 1.20 MB 93.20%",
        "measured:",
        "  Q-SNN without WS-DR      6.62 kB  97.13 +- 0.42%"]
    reports.glue_reported(reported, {"C10": "c10"})
    assert [n for n, _ in glued] == ["rep_c10_fp_mb", "rep_c10_fp_acc", "rep_c10_q_mb", "rep_c10_q_acc", "rep_c10_ratio"]
    assert float(glued[-1][1]) == pytest.approx(36.91 / 1.20, rel=1e-5)


def test_glue_small_sizes_in_kb(glued):
    assert reports.glue_small_sizes({"fp_snn": 0.02894, "qsnn_wsdr": 0.00662}) == {
        "small_fp_kb": 28.94, "small_q_kb": 6.62, "small_ratio": pytest.approx(0.02894 / 0.00662, rel=1e-5)}
    assert [n for n, _ in glued] == ["small_fp_kb", "small_q_kb", "small_ratio"]


def test_report_model_sizes_gives_the_tabulated_dvs_size(glued, capsys):
    sizes = reports.report_model_sizes(["vgg11"], (2, 48, 48))
    assert round(sizes["vgg11"]["qsnn_mb"], 2) == 1.20  # VGG-11 on CIFAR10-DVS, as tabulated by BSO
    fp, q = sizes["vgg11"]["fp_snn_mb"], sizes["vgg11"]["qsnn_mb"]
    assert capsys.readouterr().out.strip() == (f"vgg11   on 2x48x48:  full precision {fp:.2f} MB, Q-SNN {q:.2f} MB "
                                               f"({fp / q:.1f}x smaller)")
    assert [n for n, _ in glued] == ["vgg11_fp_mb", "vgg11_q_mb", "vgg11_ratio"]


def test_report_training_time(glued, capsys):
    assert reports.report_training_time([60.0, 120.0], "lead; ") == {"n_trained": 2, "train_minutes_total": 3.0}
    assert capsys.readouterr().out == "lead; 2 training runs, 180 s in total when they were trained, 90.0 s per run\n"
    with pytest.raises(ValueError, match="at least one run"):
        reports.report_training_time([])
    assert reports.report_training_time([3600.0, 1800.0], hours=True) == {"n_trained": 2, "train_hours": 1.5}
    assert capsys.readouterr().out == ("2 training runs, 1.50 h of one core in total when they were trained, "
                                       "2700 s per run\n")
    assert [n for n, _ in glued] == ["n_trained", "train_minutes_total", "n_trained", "train_hours"]


def test_p_values_text_golden():
    paired = _paired()
    lines = reports.p_values_text(paired, width=8).splitlines()
    assert lines[0] == f"a - b    p = {paired['a - b']['p']:.3f}  [primary]"
    assert lines[1] == f"b - c    p = {paired['b - c']['p']:.3f}, Holm-adjusted {paired['b - c']['p_holm']:.3f}"
    assert len(lines) == 3


def test_size_accuracy_status_for_each_level_verdict():
    assert reports.size_accuracy_status("level, as in the paper") == "size and accuracy reproduced at small scale"
    assert reports.size_accuracy_status("below") == "size reproduced; accuracy not reproduced (below full precision)"
    assert reports.size_accuracy_status("above") == "size reproduced; accuracy above full precision"
    assert reports.size_accuracy_status("not distinguishable").startswith("size reproduced; accuracy not established")
    with pytest.raises(ValueError, match="no status"):
        reports.size_accuracy_status("in line with the paper")


def test_report_regulated_rates_by_hand(glued, capsys):
    rates = {"qsnn": np.array([[0.9, 0.2, 0.4, 0.1], [0.9, 0.3, 0.5, 0.1]]),  # middle layers: mean 0.35
             "qsnn_wsdr": np.array([[0.9, 0.45, 0.45, 0.1], [0.9, 0.45, 0.45, 0.1]])}  # 0.45
    regulated = reports.report_regulated_rates(rates, LABELS)
    assert regulated == {"qsnn": pytest.approx(0.35), "qsnn_wsdr": pytest.approx(0.45)}
    assert capsys.readouterr().out == ("mean rate of the regulated layers: Q-SNN without WS-DR 0.350, "
                                       "Q-SNN + WS-DR 0.450\n")
    assert [n for n, _ in glued] == ["reg_rate_qsnn", "reg_rate_qsnn_wsdr", "reg_rate_all", "reg_rate_all_h"]
    h = -(0.4 * math.log2(0.4) + 0.6 * math.log2(0.6))  # at the mean rate over the arms, 0.4
    assert float(glued[2][1]) == pytest.approx(0.4) and float(glued[3][1]) == pytest.approx(h, rel=1e-5)
    with pytest.raises(ValueError, match=">= 3 layers"):
        reports.report_regulated_rates({"qsnn": np.array([[0.1, 0.2]])}, LABELS)


def test_report_entropy_difference_with_a_heading(glued, capsys):
    rates = {"qsnn": np.array([[0.1, 0.2, 0.3], [0.1, 0.25, 0.3], [0.1, 0.3, 0.3]]),
             "qsnn_wsdr": np.array([[0.1, 0.4, 0.3], [0.1, 0.5, 0.3], [0.1, 0.45, 0.3]])}
    d, verdict = reports.report_entropy_difference(rates, [0, 1, 2], LABELS, digits=4, heading="regulated layers")
    assert capsys.readouterr().out == (f"regulated layers: {d['mean']:+.4f} bit, 95 % interval "
                                       f"{interval_text(d, scale=1.0, digits=4)} ({verdict})\n")


def test_sign_entropy_text_golden():
    entropy = {"qsnn": [[0.92, 0.98], [0.93, 0.97]], "qsnn_wr": [[0.99, 1.0], [0.99, 1.0]]}
    drift = {"qsnn": [0.336, 0.169], "qsnn_wr": [0.049, 0.044]}
    text = reports.sign_entropy_text(entropy, drift, {"qsnn": "Q-SNN, raw signs", "qsnn_wr": "Q-SNN + weight reg."})
    assert text.splitlines() == [
        "arm                     binary 1  binary 2",
        "Q-SNN, raw signs           0.925     0.975   sign entropy [bit]",
        "                           0.336     0.169   mean |mu_c / sigma_c|",
        "Q-SNN + weight reg.        0.990     1.000   sign entropy [bit]",
        "                           0.049     0.044   mean |mu_c / sigma_c|"]
    with pytest.raises(ValueError, match="same number of binary layers"):
        reports.sign_entropy_text(entropy, {"qsnn": [0.3], "qsnn_wr": [0.1, 0.2]}, LABELS)
