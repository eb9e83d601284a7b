"""qsnn.book.progress: what a chapter reads of grids still being trained. The statistics are checked against
the t interval written out here with scipy, and the verdicts against the declared number of pairs."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from scipy.stats import t as student_t

from qsnn.book import progress
from qsnn.experiments import Experiment

BASE = {"model": "conv4", "dataset": "fashion_mnist", "epochs": 2}


def run(seed, acc, curve=None):
    history = [{"epoch": e + 1, "test_acc": a} for e, a in enumerate(curve or [acc])]
    return SimpleNamespace(config=SimpleNamespace(seed=seed), metrics={"test_acc": acc, "history": history})


def test_grid_progress_counts_the_finished_runs_of_each_arm():
    exp = Experiment(name="g", base=BASE, arms={"a": {}, "b": {"epochs": 3}}, seeds=[0, 1, 2])
    p = progress.grid_progress({"g": (exp, {"a": [run(0, 0.9), run(2, 0.9)], "b": []})})
    assert p == {"g": {"done": 2, "total": 6, "arms": {"a": (2, 3), "b": (0, 3)}}}
    assert progress.progress_text(p) == "g    2 of   6 runs finished   a 2/3  b 0/3"


def test_arm_accuracy_is_none_before_the_first_run_and_lists_the_seeds_after():
    assert progress.arm_accuracy([]) is None
    acc = progress.arm_accuracy([run(3, 0.90), run(5, 0.94)])
    assert acc["seeds"] == [3, 5] and acc["per_seed"] == [0.90, 0.94] and acc["n"] == 2
    assert acc["mean"] == pytest.approx(0.92) and acc["std"] == pytest.approx(math.sqrt(2 * 0.02 ** 2))
    assert progress.accuracy_text(acc, 5) == "92.00 ± 2.83 % over 2 of 5 seeds"
    assert progress.accuracy_text(None, 5) == "no run finished (of 5 seeds)"
    assert progress.accuracy_text(progress.arm_accuracy([run(0, 0.9307)]), 5) == "93.07 % on 1 of 5 seeds"


def test_the_main_contrast_pairs_common_seeds_and_withholds_its_verdict():
    """Seeds only one arm has are left out; the interval is Student's t over the pairs; no verdict before the
    declared pairs, however far the interval lies from zero."""
    a = [run(s, 0.90 + 0.01 * s) for s in range(5)]
    b = [run(s, 0.88 + 0.005 * s) for s in range(4)]  # seed 4 not finished in b
    d = progress.main_contrast(a, b, declared=10)
    diffs = [0.02 + 0.005 * s for s in range(4)]
    mean = sum(diffs) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in diffs) / 3)
    half = student_t.ppf(0.975, 3) * sd / 2
    assert d["n"] == 4 and d["mean"] == pytest.approx(mean) and d["ci"] == pytest.approx([mean - half, mean + half])
    assert d["ci"][0] > 0 and d["verdict"] == "withheld: 4 of 10 pairs" and d["declared"] == 10
    assert progress.main_contrast(a, b, declared=4)["verdict"] == "in line with the paper"
    assert 0 < d["p"] < 0.05


def test_half_width_at_projects_the_spread_seen_so_far():
    d = progress.main_contrast([run(s, 0.9 + 0.003 * (s % 3)) for s in range(4)], [run(s, 0.9) for s in range(4)], 10)
    assert progress.half_width_at(d, d["n"]) == pytest.approx((d["ci"][1] - d["ci"][0]) / 2)
    assert progress.half_width_at(d, 10) == pytest.approx(student_t.ppf(0.975, 9) * d["std"] / math.sqrt(10))
    one = progress.main_contrast([run(0, 0.9)], [run(0, 0.8)], 10)
    assert one["ci"] is None and progress.half_width_at(one, 10) is None
    with pytest.raises(ValueError, match="n >= 2"):
        progress.half_width_at(d, 1)


def test_mean_plateau_gap_averages_the_last_steps():
    curves = {0: {"plateau_gap": 0.002}, 1: {"plateau_gap": 0.004}, 2: {"plateau_gap": None}}
    assert progress.mean_plateau_gap(curves) == pytest.approx(0.003)
    with pytest.raises(ValueError, match="two evaluations"):
        progress.mean_plateau_gap({0: {"plateau_gap": None}})


def test_level_status_is_open_until_the_declared_pairs_are_in():
    q = [run(s, 0.920 + 0.001 * s) for s in range(5)]
    fp = [run(s, 0.921 + 0.001 * s) for s in range(2)]
    d, status = progress.level_status(q, fp, 5, paper_effect=-0.0003, margin=0.01)
    assert d is None and status == "size reproduced; accuracy open (2 of 5 pairs with the full-precision SNN)"
    fp = [run(s, 0.921 + 0.001 * s + 0.0001 * (s % 2)) for s in range(5)]
    d, status = progress.level_status(q, fp, 5, paper_effect=-0.0003, margin=0.01)
    assert d["n"] == 5 and status == "size and accuracy reproduced at small scale"


def test_the_factorial_agrees_with_the_ablation_effects_and_is_read_once_whole():
    """On complete data the shared comparisons equal qsnn.book.analysis.ablation_effects; weight regulation on
    raw weights is the sum of its centring and its scale, seed by seed; no verdict until every comparison has
    the declared pairs, then Holm over the family."""
    from qsnn.book.analysis import ablation_effects
    from qsnn.stats import holm

    arms = ("fp_snn", "qsnn", "qsnn_wr", "qsnn_sr", "qsnn_wsdr", "qsnn_raw")
    per_seed = {a: {s: 0.90 + 0.002 * k + 0.001 * ((s * (k + 3)) % 4) for s in range(5)} for k, a in enumerate(arms)}
    fx = progress.factorial_effects(per_seed, declared=5)
    ref = ablation_effects({a: per_seed[a] for a in arms[:5]})
    for name, ref_name in (("weight regulation (centring)", "weight regulation"), ("spike regulation",) * 2,
                           ("interaction",) * 2, ("WS-DR vs full precision",) * 2):
        assert fx[name]["mean"] == pytest.approx(ref[ref_name]["mean"]) and fx[name]["ci"] == pytest.approx(
            ref[ref_name]["ci"]), name
    whole = fx["weight regulation in all"]["per_seed"]
    parts = [fx["weight regulation (centring)"]["per_seed"], fx["scale for the estimator"]["per_seed"]]
    assert all(whole[s] == pytest.approx(parts[0][s] + parts[1][s]) for s in range(5))
    adjusted = holm({k: d["p"] for k, d in fx.items()})
    assert all(d["p_holm"] == adjusted[k] and not d["verdict"].startswith("withheld") for k, d in fx.items())
    del per_seed["qsnn_raw"][4]  # one run short: the family waits
    partial = progress.factorial_effects(per_seed, declared=5)
    assert partial["scale for the estimator"]["verdict"] == "withheld: 4 of 5 pairs"
    assert partial["spike regulation"]["verdict"] == "withheld until the rest of its family is in"
    del per_seed["qsnn_sr"]
    empty = progress.factorial_effects(per_seed, declared=5)["spike regulation"]
    assert empty["n"] == 0 and progress.effect_text(empty) == "no pair"
    tiny = {"mean": -2e-5, "ci": (-0.0015, 0.0015), "n": 8}  # a mean that rounds to zero prints unsigned zero
    assert progress.effect_text(tiny) == "+0.00 points [-0.15, +0.15] over 8 pairs"
    assert progress.effect_text(fx["interaction"]).endswith("over 5 pairs")


def test_the_verdict_sentence_says_what_the_interval_allows():
    a = [run(s, 0.90 + 0.01 * s) for s in range(4)]
    b = [run(s, 0.88 + 0.005 * s) for s in range(4)]
    waiting = progress.main_contrast(a, b, 10)
    assert progress.verdict_sentence(waiting) == ("The verdict waits for the 10 declared pairs (4 are in); at the "
                                                  "spread seen so far they would give a half-width of about "
                                                  f"{100 * progress.half_width_at(waiting, 10):.2f} points.")
    assert progress.verdict_sentence(progress.main_contrast(a[:1], b[:1], 10)) == \
        "The verdict waits for the 10 declared pairs (1 is in)."
    ahead = progress.main_contrast(a, b, 4)
    lo, hi = (100 * x for x in ahead["ci"])
    assert progress.verdict_sentence(ahead) == f"WS-DR adds {100 * ahead['mean']:.2f} points [{lo:+.2f}, {hi:+.2f}]."
    assert progress.verdict_sentence(progress.main_contrast(b, a, 4)).startswith("WS-DR costs ")
    level = progress.main_contrast([run(s, 0.9 + 0.002 * (-1) ** s) for s in range(4)], [run(s, 0.9) for s in range(4)], 4)
    bound = max(-level["ci"][0], level["ci"][1]) * 100
    assert progress.verdict_sentence(level) == f"Any effect of WS-DR lies within \u00b1{bound:.2f} points."


def test_grid_contrasts_are_the_grid_files_pairs_read_as_one_family():
    """The declared ``compare`` pairs, Holm-adjusted among themselves, withheld until every pair has the grid's
    seeds; an arm with no finished run gives "no pair"."""
    exp = Experiment(name="g", base=BASE, arms={"q": {}, "w": {"epochs": 3}, "f": {"epochs": 4}}, seeds=[0, 1, 2],
                     compare=[["w", "q"], ["w", "f"]])
    runs = {"q": [run(s, 0.90) for s in range(3)], "w": [run(s, 0.92 + 0.001 * s) for s in range(3)], "f": []}
    c = progress.grid_contrasts(exp, runs)
    assert list(c) == ["w - q", "w - f"] and c["w - f"]["n"] == 0 and progress.effect_text(c["w - f"]) == "no pair"
    assert c["w - q"]["mean"] == pytest.approx(0.021) and c["w - q"]["verdict"] == "withheld until the rest of its family is in"
    runs["f"] = [run(s, 0.95) for s in range(3)]
    c = progress.grid_contrasts(exp, runs)
    assert c["w - q"]["verdict"] == "above zero" and c["w - f"]["verdict"] == "below zero"
    (p_lo, lo), (p_hi, hi) = sorted((x["p"], k) for k, x in c.items())  # Holm over two: 2 p_(1), max(2 p_(1), p_(2))
    assert c[lo]["p_holm"] == pytest.approx(2 * p_lo) and c[hi]["p_holm"] == pytest.approx(max(2 * p_lo, p_hi))


def test_between_regimes_is_welchs_test_on_the_per_seed_effects_and_waits_for_both():
    from scipy.stats import ttest_ind

    a = progress.main_contrast([run(s, 0.90 + 0.004 * s) for s in range(5)], [run(s, 0.89) for s in range(5)], 5)
    b = progress.main_contrast([run(s, 0.90 + 0.001 * (s % 2)) for s in range(6)], [run(s, 0.90) for s in range(6)], 10)
    r = progress.between_regimes(a, b, (5, 10))
    ref = ttest_ind(list(a["per_seed"].values()), list(b["per_seed"].values()), equal_var=False)
    assert r["mean"] == pytest.approx(a["mean"] - b["mean"]) and r["p"] == pytest.approx(ref.pvalue)
    assert r["verdict"] == "withheld: 5 of 5 and 6 of 10 pairs"
    assert progress.between_regimes(a, b, (5, 6))["verdict"] == "above zero"
    assert progress.effect_text(r).endswith("over 5 and 6 pairs")
    none = progress.between_regimes({"per_seed": {}, "n": 0}, b, (5, 10))
    assert none["mean"] is None and none["verdict"].startswith("withheld: 0 of 5")


def test_regimes_sentence_reads_the_welch_verdict_and_waits_while_it_is_withheld():
    a = progress.main_contrast([run(s, 0.90 + 0.004 * s) for s in range(5)], [run(s, 0.89) for s in range(5)], 5)
    b = progress.main_contrast([run(s, 0.90 + 0.001 * (s % 2)) for s in range(6)], [run(s, 0.90) for s in range(6)], 10)
    words = ("the effect", "it is larger in the first", "it is smaller in the first")
    r = progress.between_regimes(a, b, (5, 10))
    assert progress.regimes_sentence(r, *words) == ("Whether the effect differs between the regimes waits for the "
                                                    "pairs both declare.")
    r = progress.between_regimes(a, b, (5, 6))
    lo, hi = (100 * x for x in r["ci"])
    assert progress.regimes_sentence(r, *words) == (f"It is larger in the first (the difference: "
                                                    f"{100 * r['mean']:+.2f} points [{lo:+.2f}, {hi:+.2f}]).")
    assert progress.regimes_sentence(progress.between_regimes(b, a, (6, 5)), *words).startswith("It is smaller")
    same = progress.between_regimes(a, a, (5, 5))
    assert progress.regimes_sentence(same, *words) == ("The effect does not differ measurably between the regimes "
                                                       f"(within {progress.interval_text(same)} points).")


def sweep_run(seed, acc, lam, rates, ce=0.2, sr=0.1, bits=4, quantizer=None):
    kwargs = {"membrane_bits": bits, **({"membrane_quantizer": quantizer} if quantizer else {})}
    r = run(seed, acc)
    r.config = SimpleNamespace(seed=seed, lambda_sr=lam, model_kwargs=kwargs)
    r.metrics.update(test_rates=rates, history=[{"train_ce": ce, "train_sr": sr, "test_acc": acc}])
    return r


def test_lambda_rows_average_the_seeds_and_weigh_the_spike_term():
    """Distance from 1/2 and the entropy over the regulated (middle) layers only; the spike term's share is
    ``100 lambda sr / (ce + lambda sr)``; arms without a run are left out and the rows sorted by lambda."""
    runs = {"big": [sweep_run(0, 0.90, 5.0, [0.1, 0.5, 0.4, 0.9]), sweep_run(1, 0.92, 5.0, [0.1, 0.5, 0.6, 0.9])],
            "none": [], "zero": [sweep_run(0, 0.93, 0.0, [0.2, 0.1, 0.3, 0.05])]}
    rows = progress.lambda_rows(runs)
    assert list(rows) == [0.0, 5.0]
    big = rows[5.0]
    assert big["accuracy"]["mean"] == pytest.approx(0.91) and big["rates"] == pytest.approx([0.1, 0.5, 0.5, 0.9])
    assert big["distance_to_half"] == pytest.approx(0.05)  # |0|, |-0.1|, |0|, |+0.1| over two seeds
    h = -(0.4 * math.log2(0.4) + 0.6 * math.log2(0.6))
    assert big["entropy"] == pytest.approx((1 + h + 1 + h) / 4)
    assert big["sr_share"] == pytest.approx(100 * 0.5 / 0.7) and rows[0.0]["sr_share"] == 0.0
    assert rows[0.0]["distance_to_half"] == pytest.approx((0.4 + 0.2) / 2)
    assert "5" in progress.lambda_text(rows).splitlines()[2] and len(progress.lambda_text(rows).splitlines()) == 3
    assert progress.lambda_text({}) == "no run of the sweep finished yet"
    assert progress.lambda_row_text(rows[5.0], 3) == ("91.00 ± 1.41 % over 2 of 3 seeds, |r \u2212 1/2| = 0.050, the "
                                                      "spike term 71 % of the loss")
    assert progress.lambda_row_text(None, 3) == "no run finished (of 3 seeds)"
    with pytest.raises(ValueError, match="regulated layer"):
        progress.lambda_rows({"a": [sweep_run(0, 0.9, 0.0, [0.1, 0.2])]})


def test_membrane_rows_enter_full_precision_under_every_quantizer():
    runs = {"fp": [sweep_run(0, 0.93, 0.0, [0.1] * 3, bits=None)], "u4": [sweep_run(0, 0.92, 0.0, [0.1] * 3)],
            "t2": [sweep_run(0, 0.80, 0.0, [0.1] * 3, bits=2, quantizer="tanh"),
                   sweep_run(1, 0.82, 0.0, [0.1] * 3, bits=2, quantizer="tanh")], "u2": []}
    rows = progress.membrane_rows(runs)
    assert list(rows["uniform"]) == [32, 4] and list(rows["tanh"]) == [32, 2]
    assert rows["tanh"][2]["mean"] == pytest.approx(0.81) and rows["tanh"][32] == rows["uniform"][32]
    text = progress.membrane_text(rows).splitlines()
    assert len(text) == 4 and text[1].split()[0] == "FP32" and text[3].rstrip().endswith("(2)")
    assert text[1].split()[1:] == ["93.00", "(1)", "93.00", "(1)"]  # one seed: no spread printed
    assert progress.membrane_text({"uniform": {}, "tanh": {}}) == "no run of the sweep finished yet"
    with pytest.raises(ValueError, match="quantizer 'log'"):
        progress.membrane_rows({"x": [sweep_run(0, 0.9, 0.0, [0.1] * 3, quantizer="log")]})


def test_effect_verdict_text_adds_the_p_value_that_decided_the_verdict():
    arms = ("fp_snn", "qsnn", "qsnn_wr", "qsnn_sr", "qsnn_wsdr", "qsnn_raw")
    per_seed = {a: {s: 0.90 + 0.002 * k + 0.001 * ((s * (k + 3)) % 4) for s in range(5)} for k, a in enumerate(arms)}
    fx = progress.factorial_effects(per_seed, declared=5)
    e = fx["spike regulation"]
    assert progress.effect_verdict_text(e) == (f"{progress.effect_text(e)} ({e['verdict']}, Holm-adjusted "
                                               f"{progress.p_text(e['p_holm'])})")
    assert progress.family_state_text(fx, 5).startswith("every comparison has its 5 pairs")
    del per_seed["qsnn_raw"][4]
    partial = progress.factorial_effects(per_seed, declared=5)
    assert progress.effect_verdict_text(partial["spike regulation"]).endswith(
        "(withheld until the rest of its family is in)")
    assert progress.family_state_text(partial, 5).endswith("are withheld")
    a = progress.main_contrast([run(s, 0.90 + 0.004 * s) for s in range(5)], [run(s, 0.89) for s in range(5)], 5)
    r = progress.between_regimes(a, a, (5, 5))  # Welch's p, not adjusted
    assert progress.effect_verdict_text(r).endswith(f"({r['verdict']}, {progress.p_text(r['p'])})")
    assert progress.p_text(0.0004) == "p < 0.001" and progress.p_text(0.04199) == "p = 0.042"


def test_weight_regulation_split_adds_up_over_the_shared_seeds():
    arms = ("fp_snn", "qsnn", "qsnn_wr", "qsnn_sr", "qsnn_wsdr", "qsnn_raw")
    per_seed = {a: {s: 0.90 + 0.002 * k + 0.001 * ((s * (k + 3)) % 4) for s in range(5)} for k, a in enumerate(arms)}
    del per_seed["qsnn_raw"][4]  # the centring has a seed the other two lack: it is left out of the split
    fx = progress.factorial_effects(per_seed, declared=5)
    parts = [fx[k]["per_seed"] for k in ("weight regulation in all", "scale for the estimator",
                                         "weight regulation (centring)")]
    whole, scale, centring = (100 * sum(p[s] for s in range(4)) / 4 for p in parts)
    assert whole == pytest.approx(scale + centring) and fx["weight regulation (centring)"]["n"] == 5
    assert progress.weight_regulation_split(fx) == (
        f"Over the 4 seeds all three binary arms share, weight regulation in all ({whole:+.2f} points) is the "
        f"scale's {scale:+.2f} plus the centring's {centring:+.2f}.")
    for s in range(4):
        del per_seed["qsnn_raw"][s]
    assert progress.weight_regulation_split(progress.factorial_effects(per_seed, declared=5)).startswith("No seed")


def test_plateau_text_names_the_arms_beyond_the_goal():
    assert progress.plateau_text({"a": 0.1, "b": 0.2}, 0.3) == "every arm is within the 0.3-point goal"
    assert progress.plateau_text({"a": 0.3, "b": 0.4}, 0.3) == "no arm is within the 0.3-point goal"
    assert progress.plateau_text({"a": 0.31, "b": 0.2, "c": 0.5}, 0.3) == \
        "a and c are not within the 0.3-point goal, the other arms are"
    assert progress.plateau_text({"a": 0.31, "b": 0.2}, 0.3) == "a is not within the 0.3-point goal, the other arms are"
    assert progress.plateau_text({"a": 0.31, "b": 0.2, "c": 0.5, "d": 0.3}, 0.3) == \
        "a, c and d are not within the 0.3-point goal, the other arms are"


class SweepGrid:
    """The part of an experiment :func:`progress.rate_shifts` reads: arms, seeds and each arm's lambda_SR."""

    def __init__(self, weights: dict, seeds=(0, 1, 2)):
        self.name, self.arms, self.seeds, self._weights = "sweep", list(weights), list(seeds), weights

    def config(self, arm, seed):
        return SimpleNamespace(lambda_sr=self._weights[arm], seed=seed)


def test_regulated_distance_is_the_middle_layers_mean_distance_from_one_half():
    assert progress.regulated_distance(sweep_run(0, 0.9, 0.0, [0.0, 0.2, 0.9, 1.0])) == pytest.approx((0.3 + 0.4) / 2)
    assert progress.regulated_distance(sweep_run(0, 0.9, 0.0, [1.0, 0.5, 0.0])) == 0.0
    with pytest.raises(ValueError, match=">= 3 spiking layers, got 2"):
        progress.regulated_distance(sweep_run(0, 0.9, 0.0, [0.1, 0.2]))


def test_rate_shifts_pair_the_seeds_against_no_spike_term_and_wait_for_the_declared_seeds():
    """Golden values: the distance at lambda 0 is 0.30 + 0.01 s, at 0.5 it is 0.02 lower on every seed but one
    (0.03), at 5 it is 0.20 lower; 0.05 wobbles around lambda 0's by +-0.002."""
    grid = SweepGrid({"lambda_0": 0.0, "lambda_0.05": 0.05, "lambda_0.5": 0.5, "lambda_5": 5.0})
    runs = {"lambda_0": sweep_arm(0.0, lambda s: 0.0), "lambda_0.05": sweep_arm(0.05, lambda s: 0.002 * (-1) ** s),
            "lambda_0.5": sweep_arm(0.5, lambda s: -0.02 - 0.01 * (s == 2)),
            "lambda_5": sweep_arm(5.0, lambda s: -0.20)}
    shifts = progress.rate_shifts(grid, runs)
    assert list(shifts) == [0.05, 0.5, 5.0]
    assert shifts[0.5]["mean"] == pytest.approx(-0.07 / 3) and shifts[0.5]["n"] == 3
    assert shifts[5.0]["mean"] == pytest.approx(-0.20) and shifts[5.0]["verdict"] == "below zero"
    assert shifts[0.05]["verdict"] == "not distinguishable from zero"
    assert shifts[0.5]["p_holm"] == pytest.approx(2 * shifts[0.5]["p"])  # Holm: the second smallest of three, x2
    waiting = progress.rate_shifts(grid, {**runs, "lambda_5": runs["lambda_5"][:1]})
    assert waiting[5.0]["verdict"] == "withheld: 1 of 3 pairs"
    assert all(d["p_holm"] is None for d in waiting.values())  # no adjustment over a partial family
    with pytest.raises(ValueError, match="exactly one arm with lambda_sr = 0, found 0"):
        progress.rate_shifts(SweepGrid({"a": 0.5}), {})
    with pytest.raises(ValueError, match="found 2 \\(a, b\\)"):
        progress.rate_shifts(SweepGrid({"a": 0.0, "b": 0.0, "c": 1.0}), {})
    with pytest.raises(ValueError, match="a weight of its own, got a: 0, b: 1, c: 1"):
        progress.rate_shifts(SweepGrid({"a": 0.0, "b": 1.0, "c": 1.0}), {})


def sweep_arm(lam, shift):
    """Three seeds whose regulated layer sits at 0.30 + 0.01 s + shift(s) from 1/2 (below it)."""
    return [sweep_run(s, 0.9, lam, [0.1, 0.5 - (0.30 + 0.01 * s + shift(s)), 0.9]) for s in range(3)]


def test_rates_move_sentence_names_every_weight_and_where_the_rates_start_to_move():
    grid = SweepGrid({"lambda_0": 0.0, "lambda_0.05": 0.05, "lambda_0.5": 0.5, "lambda_5": 5.0})
    zero, wobble = sweep_arm(0.0, lambda s: 0.0), sweep_arm(0.05, lambda s: 0.002 * (-1) ** s)
    down, far = sweep_arm(0.5, lambda s: -0.02 - 0.01 * (s == 2)), sweep_arm(5.0, lambda s: -0.20)
    tail = " (verdicts Holm-adjusted over the 3 weights; each interval the weight's own)."
    onward = progress.rate_shifts(grid, {"lambda_0": zero, "lambda_0.05": wobble, "lambda_0.5": down, "lambda_5": far})
    assert progress.rates_move_sentence(onward, 3) == (
        "The rates start to move at a weight of 0.5: against no spike term, the regulated layers' distance from 1/2 "
        "falls measurably at 0.5 (-0.023 [-0.038, -0.009]), 5 (-0.200 [-0.200, -0.200]); it does not change "
        "measurably at 0.05 (+0.001 [-0.005, +0.006])" + tail)
    gap = progress.rate_shifts(grid, {"lambda_0": zero, "lambda_0.05": down, "lambda_0.5": wobble, "lambda_5": far})
    assert progress.rates_move_sentence(gap, 3) == (  # a larger weight that does not move: no "start" is claimed
        "Against no spike term, the regulated layers' distance from 1/2 falls measurably at 0.05 (-0.023 [-0.038, "
        "-0.009]), 5 (-0.200 [-0.200, -0.200]); it does not change measurably at 0.5 (+0.001 [-0.005, +0.006])"
        + tail)
    up = sweep_arm(0.05, lambda s: 0.05 + 0.001 * s)
    away = progress.rate_shifts(grid, {"lambda_0": zero, "lambda_0.05": up, "lambda_0.5": wobble, "lambda_5": wobble})
    assert progress.rates_move_sentence(away, 3) == (
        "At no weight up to 5 do the rates move measurably towards 1/2: against no spike term, the regulated layers' "
        "distance from 1/2 does not change measurably at 0.5 (+0.001 [-0.005, +0.006]), 5 (+0.001 [-0.005, "
        "+0.006]); it grows at 0.05 (+0.051 [+0.049, +0.053])" + tail)
    waiting = progress.rate_shifts(grid, {"lambda_0": zero, "lambda_0.05": wobble, "lambda_5": far[:2]})
    assert progress.rates_move_sentence(waiting, 3) == ("Where the rates start to move is read when every weight "
                                                        "has its 3 seeds (the fewest so far: 0).")
    with pytest.raises(ValueError, match="needs a weight above 0"):
        progress.rates_move_sentence({}, 3)
    assert progress.lambda_status(onward, 0.05) == ("the rates do not move measurably at the authors' weight; they "
                                                    "move towards 1/2 from 0.5")
    assert progress.lambda_status(onward, 0.5) == "the rates move towards 1/2 at the authors' weight"
    assert progress.lambda_status(gap, 0.5) == ("the rates do not move measurably at the authors' weight; some "
                                                "weights move them towards 1/2, but not every larger one")
    assert progress.lambda_status(away, 0.05) == ("the rates move away from 1/2 at the authors' weight; no weight up "
                                                  "to 5 moves them towards 1/2")
    assert progress.lambda_status(waiting, 0.05) == "open (withheld: 0 of 3 pairs)"
    bad_weight = "authors' weight 0.005 is not a weight of the sweep above 0 \\(0.05, 0.5, 5\\)"
    with pytest.raises(ValueError, match=bad_weight):
        progress.lambda_status(onward, 5e-3)


def test_shift_text_is_a_distance_with_its_interval_and_pairs():
    d = {"mean": -0.0234, "ci": (-0.0377, -0.009), "n": 3}
    assert progress.shift_text(d) == "-0.023 [-0.038, -0.009] over 3 pairs"
    assert progress.shift_text(d, pairs=False) == "-0.023 [-0.038, -0.009]"
    assert progress.shift_text({"mean": 0.0004, "ci": None, "n": 1}) == "+0.000 over 1 pair"
    assert progress.shift_text({"mean": None, "ci": None, "n": 0}) == "no pair"


def test_regimes_family_holm_adjusts_the_welch_tests_once_all_are_complete():
    a = progress.main_contrast([run(s, 0.90 + 0.004 * s) for s in range(5)], [run(s, 0.89) for s in range(5)], 5)
    b = progress.main_contrast([run(s, 0.90 + 0.001 * (s % 2)) for s in range(6)], [run(s, 0.90) for s in range(6)], 6)
    c = progress.main_contrast([run(s, 0.90 + 0.003 * (s % 3)) for s in range(5)], [run(s, 0.90) for s in range(5)], 5)
    fam = progress.regimes_family({"x": (a, b, (5, 6)), "y": (c, b, (5, 6))})
    px, py = (progress.between_regimes(e, b, (5, 6))["p"] for e in (a, c))
    low = min(px, py)
    # Holm over two: the smaller p doubled, the larger kept (but never below the smaller's adjusted value)
    adjusted = {k: (min(1.0, 2 * p) if p == low else max(min(1.0, 2 * low), min(1.0, p))) for k, p in
                (("x", px), ("y", py))}
    for k in ("x", "y"):
        assert fam[k]["p_holm"] == pytest.approx(adjusted[k]) and fam[k]["p"] == pytest.approx((px, py)[k == "y"])
        word = "not distinguishable from zero" if adjusted[k] >= 0.05 else \
            ("above zero" if fam[k]["mean"] > 0 else "below zero")
        assert fam[k]["verdict"] == word
    waiting = progress.regimes_family({"x": (a, b, (5, 10)), "y": (c, b, (5, 6))})
    assert waiting["x"]["verdict"].startswith("withheld") and "p_holm" not in waiting["y"]
    assert waiting["y"]["verdict"] == progress.between_regimes(c, b, (5, 6))["verdict"]  # unadjusted, not yet read


def test_entropy_effects_read_the_factorial_halves_on_the_spikes():
    """Spike regulation alone lifts the regulated layer's rate from 0.2 to 0.4 on every seed (a little less on one),
    centring alone leaves it; the entropies are those of a binary variable at those rates."""
    def h(r):
        return -(r * math.log2(r) + (1 - r) * math.log2(1 - r))

    def arm(rate):
        return [sweep_run(s, 0.9, 0.0, [0.1, rate(s), 0.9]) for s in range(5)]

    runs = {"qsnn": arm(lambda s: 0.2), "qsnn_sr": arm(lambda s: 0.4 - 0.01 * (s == 4)),
            "qsnn_wr": arm(lambda s: 0.2 + 0.001 * (-1) ** s)}
    fx = progress.entropy_effects(runs, declared=5)
    assert list(fx) == ["spike regulation", "weight regulation (centring)"]
    sr = fx["spike regulation"]
    assert sr["mean"] == pytest.approx((4 * h(0.4) + h(0.39)) / 5 - h(0.2)) and sr["verdict"] == "above zero"
    assert fx["weight regulation (centring)"]["verdict"] == "not distinguishable from zero"
    assert progress.regulated_entropy(runs["qsnn"][0]) == pytest.approx(h(0.2))
    assert progress.shift_text(sr, digits=4).startswith(f"{sr['mean']:+.4f} [") and sr["p_holm"] is not None
    waiting = progress.entropy_effects({a: rs[:3] for a, rs in runs.items()}, declared=5)
    assert all(d["verdict"] == "withheld: 3 of 5 pairs" and d["p_holm"] is None for d in waiting.values())
    with pytest.raises(ValueError, match=">= 3 spiking layers, got 2"):
        progress.regulated_entropy(sweep_run(0, 0.9, 0.0, [0.1, 0.2]))


def test_shift_verdict_text_gives_the_unit_and_the_deciding_p_value():
    d = {"mean": 0.02391, "ci": (0.0077, 0.0402), "n": 10, "verdict": "above zero", "p": 0.01, "p_holm": 0.02}
    assert progress.shift_verdict_text(d) == "+0.0239 bit [+0.0077, +0.0402] over 10 pairs (above zero, " \
                                             "Holm-adjusted p = 0.020)"
    assert progress.shift_verdict_text(dict(d, p_holm=None, verdict="withheld: 3 of 5 pairs"), digits=3, unit="") \
        == "+0.024 [+0.008, +0.040] over 10 pairs (withheld: 3 of 5 pairs)"
    assert progress.shift_verdict_text({"mean": None, "ci": None, "n": 0, "verdict": "withheld: 0 of 5 pairs"}) == \
        "no pair (withheld: 0 of 5 pairs)"
