"""What the chapters compute from runs and networks: per-layer firing rates and their entropy, the sign balance
of binary weights, tables of model variants over seeds, the WS-DR ablation's effects, sweep summaries. The
event-data checks of chapter 6 are in :mod:`qsnn.book.events`; the statistics themselves (mean +- std, paired
differences, Holm, verdicts) are in :mod:`qsnn.stats`.

Plain NumPy; :mod:`qsnn.nn` (and so torch) is imported only by the functions that take networks or need the
binary entropy, so Part I chapters can use it without torch.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..spiketrains.sweeps import concentration
from ..stats import mean_std, paired_difference

__all__ = ["variants_table", "layer_rates", "rates_table", "sign_balance_stats", "balance_summary", "seed_sign_balance",
           "model_size_table",
           "membrane_memory_table", "sweep_table", "concentration_table", "sweep_headline",
           "seeds_table", "lambda_table", "standardization_balance", "standardization_values", "config_table",
           "stepwise_lif", "ede_schedules", "ede_gradient_area", "rejection_message",
           "sweep_results", "concentration_results", "ABLATION_EFFECTS", "ablation_effects", "effects_text",
           "paper_table", "spiking_untrained"]


def variants_table(per_seed: Mapping[str, Sequence[float]], labels: Mapping[str, str], seeds: Sequence[int],
                   width: int = 22) -> tuple[dict, str]:
    """Accuracy per variant and seed, as numbers and as a printed table (percent).

    Parameters
    ----------
    per_seed : mapping
        Variant name -> one accuracy (a fraction) per seed, in the order of ``seeds``.
    labels : mapping
        Variant name -> its display label.
    seeds : sequence of int
    width : int
        Width of the label column.

    Returns
    -------
    accuracy : dict
        ``{name: {"mean", "std", "per_seed"}}``.
    table : str
        Header and one row per variant: per-seed values, then mean +- std.
    """
    accuracy, lines = {}, [f"{'variant':<{width}} " + " ".join(f"{f'seed {s}':>8}" for s in seeds)
                           + f"   {'mean +- std':>15}"]
    for name, acc in per_seed.items():
        acc = [float(a) for a in acc]
        if len(acc) != len(seeds):
            raise ValueError(f"variant {name}: {len(acc)} values for {len(seeds)} seeds")
        m, sd = mean_std(acc)
        accuracy[name] = {"mean": m, "std": sd, "per_seed": acc}
        lines.append(f"{labels[name]:<{width}} " + " ".join(f"{100 * a:>7.2f}%" for a in acc)
                     + f"   {100 * m:>6.2f} +- {100 * sd:.2f}%")
    return accuracy, "\n".join(lines)


def layer_rates(rates: Sequence[Sequence[float]]) -> dict:
    """Per-layer statistics of firing rates ``[seeds, layers]``: ``mean``, ``std`` (ddof = 1, zeros for one
    seed), ``entropy`` (bits of a spike at the mean rate), and ``entropy_mean`` and ``entropy_std``, the mean and
    the spread (ddof = 1, zeros for one seed) over the seeds of each seed's own entropy, each a list over layers."""
    from ..nn import binary_entropy  # torch, only with networks (Part I chapters too import this module)

    r = np.asarray(rates, dtype=float)
    if r.ndim != 2 or r.size == 0:
        raise ValueError(f"rates must be [seeds, layers], got shape {r.shape}")
    m = r.mean(0)
    one = r.shape[0] == 1
    sd = np.zeros(r.shape[1]) if one else r.std(0, ddof=1)
    h = np.array([[float(binary_entropy(float(x))) for x in row] for row in r])
    return {"mean": m.tolist(), "std": sd.tolist(), "entropy": [float(binary_entropy(float(x))) for x in m],
            "entropy_mean": h.mean(0).tolist(),
            "entropy_std": (np.zeros(r.shape[1]) if one else h.std(0, ddof=1)).tolist()}


def rates_table(rates: Mapping[str, Sequence[Sequence[float]]], labels: Mapping[str, str], width: int = 22) -> str:
    """A printed table: per variant and layer the mean rate over seeds and its entropy H(r) in bits."""
    n_layers = {np.asarray(v).shape[1] for v in rates.values()}
    if len(n_layers) != 1:
        raise ValueError(f"every variant needs the same number of layers, got {sorted(n_layers)}")
    n = n_layers.pop()
    lines = [f"{'variant':<{width}} " + " ".join(f"{f'layer {l + 1} r':>10} {'H(r)':>6}" for l in range(n))]
    for name, r in rates.items():
        s = layer_rates(r)
        lines.append(f"{labels[name]:<{width}} " + " ".join(f"{x:>10.3f} {h:>6.3f}"
                                                              for x, h in zip(s["mean"], s["entropy"])))
    return "\n".join(lines)


def sign_balance_stats(models: Iterable) -> list[dict]:
    """Sign balance of the binary layers of ``models`` (same architecture), pooled over the models.

    Returns
    -------
    list of dict, one per binary layer
        ``fractions``: the fraction of +1 per filter of the binarized weights the network uses;
        ``drift``: ``mu_c / sigma_c`` per filter of the latent weights (what weight standardization
        removes), both NumPy arrays over all filters of all models.
    """
    from ..nn import binary_layers, sign_balance  # torch, only with networks (Part I chapters too import this module)

    per_layer: list[tuple[list, list]] = []
    for model in models:
        layers = binary_layers(model)
        if not per_layer:
            per_layer = [([], []) for _ in layers]
        if len(layers) != len(per_layer):
            raise ValueError("the models have different numbers of binary layers")
        for (fracs, drifts), layer in zip(per_layer, layers):
            fracs.append(sign_balance(layer.quantized_weight()).numpy())
            w = layer.weight.detach().flatten(1)
            drifts.append((w.mean(1) / w.std(1, unbiased=False)).numpy())
    if not per_layer:
        raise ValueError("sign_balance_stats needs at least one model with binary layers")
    return [{"fractions": np.concatenate(f), "drift": np.concatenate(d)} for f, d in per_layer]


def balance_summary(fractions: Sequence[float]) -> dict:
    """``mean``, ``min``, ``max`` of per-filter +1 fractions and their ``mean_entropy`` (bits)."""
    from ..nn import binary_entropy  # torch, only with networks (Part I chapters too import this module)

    f = np.asarray(fractions, dtype=float)
    if f.size == 0:
        raise ValueError("balance_summary needs at least one filter")
    return {"mean": float(f.mean()), "min": float(f.min()), "max": float(f.max()),
            "mean_entropy": float(binary_entropy(f).mean())}


def seed_sign_balance(models: Mapping[str, Sequence]) -> tuple[dict, dict]:
    """The sign balance of every arm's binary layers, seed by seed (Fig. 4(a) of the Q-SNN paper).

    ``models`` maps an arm to its trained networks, one per seed. Returns ``(entropy, drift)``:
    ``entropy[arm]`` is ``[seeds][binary layers]``, the mean entropy (bits) of the signs of a layer's filters
    (:func:`balance_summary`); ``drift[arm]`` is ``[binary layers]``, the mean ``|mu_c / sigma_c|`` of a layer's
    latent filters, averaged over the seeds (:func:`sign_balance_stats` of each network alone).
    """
    entropy, drift = {}, {}
    for arm, nets in models.items():
        per_seed = [sign_balance_stats([net]) for net in nets]
        if not per_seed:
            raise ValueError(f"arm {arm}: no networks")
        entropy[arm] = [[balance_summary(layer["fractions"])["mean_entropy"] for layer in s] for s in per_seed]
        drift[arm] = [float(np.mean([np.abs(s[k]["drift"]).mean() for s in per_seed]))
                      for k in range(len(per_seed[0]))]
    return entropy, drift


def model_size_table(architectures: Sequence[tuple], *, weight_bits: int = 1, membrane_bits: int = 2):
    """Model sizes in MB of full-precision and Q-SNN versions of each architecture, as a printable table.

    ``architectures`` lists ``(label, model name, classes, input shape (C, H, W))``. The full-precision model
    has 32-bit weights and membranes; the Q-SNN ``weight_bits`` / ``membrane_bits``. Sizes are
    :func:`qsnn.size.model_size` (binary weights at one bit, everything else 32 bits).

    Returns ``(sizes, models, text)``: ``sizes[label]`` holds ``fp32_mb``, ``qsnn_mb``, ``ratio`` (FP32 / Q-SNN)
    and ``reduction`` (1 - Q-SNN / FP32); ``models[label]`` is ``(Q-SNN model, input shape)``.
    """
    from ..models import build  # torch, only with networks (Part I chapters too import this module)
    from ..size import model_size  # torch, only with networks (Part I chapters too import this module)

    sizes, models = {}, {}
    lines = [f"{'architecture':<22} {'FP32 [MB]':>10} {'Q-SNN [MB]':>11} {'ratio':>7} {'reduction':>10}"]
    for label, name, classes, shape in architectures:
        kw = dict(num_classes=classes, in_channels=shape[0], input_size=tuple(shape[1:]))
        fp = model_size(build(name, weight_bits=32, membrane_bits=None, **kw))
        q_model = build(name, weight_bits=weight_bits, membrane_bits=membrane_bits, **kw)
        q = model_size(q_model)
        models[label] = (q_model, shape)
        sizes[label] = {"fp32_mb": fp, "qsnn_mb": q, "ratio": fp / q, "reduction": 1 - q / fp}
        lines.append(f"{label:<22} {fp:>10.2f} {q:>11.2f} {fp / q:>6.1f}x {100 * (1 - q / fp):>9.1f}%")
    return sizes, models, "\n".join(lines)


def membrane_memory_table(models: Mapping[str, tuple], bits: Sequence[int]):
    """Membrane state per sample of each network at each precision in ``bits``, as a printable table.

    ``models`` maps a label to ``(model, input shape (C, H, W))``. The state is one value per LIF neuron
    (:func:`qsnn.size.lif_neurons`) at ``b`` bits (:func:`qsnn.size.membrane_state_bytes`).

    Returns ``(memory, text)``: ``memory[label]`` holds ``lif_neurons`` and ``{b}bit_kb`` for each ``b``.
    """
    # torch, only with networks (Part I chapters too import this module)
    from ..size import lif_neurons, membrane_state_bytes

    memory = {}
    lines = [f"{'architecture':<22} {'LIF neurons':>12} " + " ".join(f"{f'{b}-bit [kB]':>12}" for b in bits)]
    for label, (model, shape) in models.items():
        neurons = sum(lif_neurons(model, shape))
        memory[label] = {"lif_neurons": neurons,
                         **{f"{b}bit_kb": membrane_state_bytes(model, shape, bits=b) / 1e3 for b in bits}}
        lines.append(f"{label:<22} {neurons:>12,d} " + " ".join(f"{memory[label][f'{b}bit_kb']:>12.1f}" for b in bits))
    return memory, "\n".join(lines)


def sweep_table(sweeps: Mapping[tuple, object], resets: Sequence[str] = ("mod", "subtract", "zero")) -> str:
    """Per sweep and reset: the share of runs above ``theta`` at the smallest and the largest spike count, and
    mean +- std, maximum and ``1 - max`` of the error at the largest count, as a printable table.

    ``sweeps`` maps ``(amplitude range, alpha)`` to a :class:`qsnn.ErrorSweep`; all share one grid.
    """
    grid = next(iter(sweeps.values())).n_spikes
    lines = [f"{'range':>6} {'alpha':>6} {'reset':>9} | {'>theta @n=' + str(grid[0]):>13} "
             f"{'>theta @n=' + str(grid[-1]):>15} | {'mean +- std':>15} {'max':>6} {'1 - max':>8}"]
    for (r, a), s in sweeps.items():
        for reset in resets:
            f = s.fraction_above(reset)
            e = s[reset][-1]
            lines.append(f"{r:>6g} {a:>6g} {reset:>9} | {f[0]:>13.2f} {f[-1]:>15.2f} | "
                         f"{e.mean():>6.3f} +- {e.std(ddof=1):<6.3f} {e.max():>6.3f} {1 - e.max():>8.1e}")
    return "\n".join(lines)


def concentration_table(conc: Mapping, grid) -> str:
    """Per spike count, the distance of the 5 %, 50 % and 95 % quantiles and of the maximum to the bound 1, the
    standard deviation and the interquartile range; ``conc`` from :func:`qsnn.concentration` (quantiles at
    0.05, 0.5 and 0.95 among its levels ``q``)."""
    lines = [f"{'n':>6} | {'1 - q05':>8} {'1 - median':>10} {'1 - q95':>8} {'1 - max':>8} | {'std':>8} {'IQR':>8}"]
    levels = list(conc["q"])
    for i, n in enumerate(grid):
        q05, q50, q95 = (1.0 - conc["quantiles"][i, levels.index(level)] for level in (0.05, 0.5, 0.95))
        lines.append(f"{n:>6} | {q05:>8.1e} {q50:>10.1e} {q95:>8.1e} {conc['gap'][i]:>8.1e} | "
                     f"{conc['std'][i]:>8.1e} {conc['iqr'][i]:>8.1e}")
    return "\n".join(lines)


def sweep_headline(sweep, upper) -> dict:
    """Headline numbers of one sweep: the spike counts from which half of the runs leave the ``theta``-ball under
    reset-to-zero and reset-by-subtraction (None: never on the grid), ``1 - max`` of the reset-to-mod error, and
    the slope of ``log(1 - median)`` against ``log n`` over the spike counts selected by the mask ``upper``."""
    c = concentration(sweep["mod"])
    grid = np.asarray(sweep.n_spikes)
    return {"zero_half": sweep.count_at_share("zero", 0.5), "subtract_half": sweep.count_at_share("subtract", 0.5),
            "mod_gap": 1.0 - sweep["mod"].max(),
            "slope": float(np.polyfit(np.log(grid[upper]), np.log(1.0 - c["quantiles"][upper, 2]), 1)[0])}


def seeds_table(stats: Mapping[tuple, Mapping]) -> str:
    """The headline numbers of :func:`sweep_headline` as mean +- std over seeds, one row per sweep;
    ``stats[(range, alpha)][name] = (mean, std)`` (``(None, None)`` prints "never")."""
    def fmt(ms, spec):
        return "never" if ms[0] is None else f"{ms[0]:{spec}} +- {ms[1]:{spec}}"

    lines = [f"{'range':>6} {'alpha':>6} | {'zero: half out at n':>22} {'subtract: half out at n':>24} | "
             f"{'mod: 1 - max':>20} {'slope':>14}"]
    for (r, a), st in stats.items():
        lines.append(f"{r:>6g} {a:>6g} | {fmt(st['zero_half'], '.0f'):>22} {fmt(st['subtract_half'], '.0f'):>24} | "
                     f"{fmt(st['mod_gap'], '.1e'):>20} {fmt(st['slope'], '.2f'):>14}")
    return "\n".join(lines)


def lambda_table(metrics: Mapping[float, Mapping]) -> tuple[dict, str]:
    """Accuracy and per-layer firing rates per spike-rate weight ``lambda_SR``, and how close the regulated
    (middle) layers fire to 1/2, as a printable table.

    ``metrics`` maps ``lambda_SR`` to a run's metrics (``test_acc``, ``test_rates`` per layer). Returns
    ``(table, text)``: ``table[lambda]`` holds ``test_acc``, ``rates`` and ``distance_to_half``, the mean
    ``|r - 1/2|`` over the layers between the first and the last.
    """
    lines = [f"{'lambda_SR':>10} {'test acc':>9} {'rates per layer':>24}   mean |r - 1/2| of regulated layers"]
    table = {}
    for lam, m in metrics.items():
        acc, r_test = m["test_acc"], m["test_rates"]
        dist = float(np.mean(np.abs(np.array(r_test[1:len(r_test) - 1]) - 0.5)))
        table[lam] = {"test_acc": acc, "rates": r_test, "distance_to_half": dist}
        lines.append(f"{lam:>10g} {100 * acc:>8.2f}% {' '.join(f'{x:.3f}' for x in r_test):>24}   {dist:.3f}")
    return table, "\n".join(lines)


def standardization_balance(model) -> tuple[list, str]:
    """Per binary layer of ``model``: the +1 fraction per filter of the signs the network uses (raw latent
    weights) and of the standardised weights (weight regulation), with their mean sign entropy.

    Returns ``(rows, text)``, ``rows`` a list of ``(name, raw, standardized)`` (per-filter fractions, tensors).
    """
    # torch, only with networks (Part I chapters too import this module)
    from ..nn import binarize_weight, binary_entropy, binary_layers, sign_balance

    rows, lines = [], []
    for i, layer in enumerate(binary_layers(model)):
        w = layer.weight.detach()
        raw = sign_balance(layer.quantized_weight())  # what the network used: sign of the raw weights
        standardized = sign_balance(binarize_weight(w, regulation=True))
        rows.append((f"binary layer {i + 1} ({tuple(w.shape)})", raw, standardized))
        lines.append(f"{rows[-1][0]:<36} +1 fraction per filter: raw sign {raw.mean():.3f} "
                     f"[{raw.min():.2f}, {raw.max():.2f}], standardized {standardized.mean():.3f} "
                     f"[{standardized.min():.2f}, {standardized.max():.2f}]; "
                     f"mean H: {binary_entropy(raw).mean():.3f} vs {binary_entropy(standardized).mean():.3f} bit")
    return rows, "\n".join(lines)


def standardization_values(rows: Sequence[tuple]) -> dict:
    """The numbers chapter 4 quotes of :func:`standardization_balance` (``rows`` of at least two binary layers):
    how many layers' raw signs lean towards -1 (``raw_below_half``); the layer whose raw signs carry the least
    entropy (``raw_worst_layer``, counted from 1), its mean share of +1 in percent, its least per-filter share
    and its mean sign entropy (``raw_worst_plus``, ``raw_worst_min``, ``raw_worst_h``); the range of the mean
    sign entropy of the other layers (``raw_others_h_min``, ``raw_others_h_max``); and the least mean sign
    entropy after standardization (``std_h_min``). Entropies in bits."""
    from ..nn import binary_entropy  # torch, only with networks (Part I chapters too import this module)

    if len(rows) < 2:
        raise ValueError(f"standardization_values compares layers: it needs two or more, got {len(rows)}")
    h_raw = [float(binary_entropy(raw).mean()) for _, raw, _ in rows]
    h_std = [float(binary_entropy(st).mean()) for _, _, st in rows]
    worst = int(np.argmin(h_raw))
    others = [h for i, h in enumerate(h_raw) if i != worst]
    return {"raw_below_half": sum(float(raw.mean()) < 0.5 for _, raw, _ in rows), "raw_worst_layer": worst + 1,
            "raw_worst_plus": 100 * float(rows[worst][1].mean()), "raw_worst_min": float(rows[worst][1].min()),
            "raw_worst_h": h_raw[worst], "raw_others_h_min": min(others), "raw_others_h_max": max(others),
            "std_h_min": min(h_std)}


def config_table(configs: Mapping[str, object]) -> tuple[dict, str]:
    """The paper-scale training configurations, one row per file: model, data, time steps, epochs, membrane
    bits, ``lambda_SR`` and the model size (:func:`qsnn.size.model_size` of the model each one builds).

    ``configs`` maps a file stem to its :class:`qsnn.train.TrainConfig`. Returns ``(summary, text)``,
    ``summary[stem]`` holding ``size_mb``, ``time_steps`` and ``epochs``.
    """
    from ..data import dataset_info  # torch, only with networks (Part I chapters too import this module)
    from ..models import build  # torch, only with networks (Part I chapters too import this module)
    from ..size import model_size  # torch, only with networks (Part I chapters too import this module)

    def build_model(cfg):  # the untrained network of cfg; its data set decides classes, channels, input size
        info = dataset_info(cfg.dataset, cfg.dataset_kwargs)
        return build(cfg.model, num_classes=info.num_classes, in_channels=info.in_channels,
                     input_size=tuple(info.input_size), **cfg.model_kwargs)

    lines = [f"{'file':<24} {'model':<9} {'data':<9} {'T':>2} {'epochs':>6} {'membrane':>9} {'lambda_SR':>9} "
             f"{'size [MB]':>9}"]
    summary = {}
    for name, cfg in configs.items():
        size = model_size(build_model(cfg))
        summary[name] = {"size_mb": size, "time_steps": cfg.time_steps, "epochs": cfg.epochs}
        lines.append(f"{name + '.yaml':<24} {cfg.model:<9} {cfg.dataset:<9} {cfg.time_steps:>2} {cfg.epochs:>6} "
                     f"{cfg.model_kwargs['membrane_bits']:>6} bit {cfg.lambda_sr:>9g} {size:>9.2f}")
    return summary, "\n".join(lines)


def stepwise_lif(current, decay: float, threshold: float, bits: int | None):
    """The LIF neuron with a quantized membrane, one time step at a time (Q-SNNs, Sec. 3):
    ``H = decay U + I``, a spike if ``H > threshold``, reset to zero, ``U`` stored as ``Q_b(U)`` (uniform,
    scale ``threshold``; ``bits=None`` keeps full precision). The plain definition that
    :class:`qsnn.nn.LIF` is checked against. Returns ``(H, U, S)`` over time (tensors).
    """
    import torch

    from ..nn import quantize_membrane  # torch, only with networks (Part I chapters too import this module)

    h_list, u_list, s_list, u = [], [], [], torch.tensor(0.0)
    for i_t in current:
        h = decay * u + i_t
        s = (h > threshold).float()
        u = h * (1 - s)
        if bits is not None:
            u = quantize_membrane(u, bits, scale=threshold)
        h_list.append(h), u_list.append(u), s_list.append(s)
    return torch.stack(h_list), torch.stack(u_list), torch.stack(s_list)


def ede_schedules(epochs: Sequence[int], schedules: Sequence[str] = ("log_up", "endpoints")) -> dict:
    """The sharpness ``t`` of the sign's estimator (EDE, :func:`qsnn.nn.ede_t`) in every epoch of a run of ``E``
    epochs, per schedule of :func:`qsnn.train.ede_progress`: ``{E: {schedule: array [E]}}``."""
    from ..nn import ede_t  # torch, only with networks (Part I chapters too import this module)
    from ..train import ede_progress  # torch, only with networks (Part I chapters too import this module)

    return {E: {s: np.array([ede_t(ede_progress(e, E, s)) for e in range(E)]) for s in schedules} for E in epochs}


def ede_gradient_area(progress: float, span: float = 60.0, points: int = 200_001) -> float:
    """The integral over the line of the EDE gradient at training progress ``progress`` (trapezoid rule on
    ``[-span / t, span / t]``, float64): the estimator is the derivative of ``k tanh(t x)``, so the integral is
    ``2k`` (:func:`qsnn.nn.ede_k`)."""
    import torch

    from ..nn import ede_grad, ede_t  # torch, only with networks (Part I chapters too import this module)

    t = ede_t(progress)
    xs = torch.linspace(-span / t, span / t, points, dtype=torch.float64)
    return float(torch.trapezoid(ede_grad(xs, t), xs))


def rejection_message(fn, *args, **kwargs) -> str:
    """The message of the ``ValueError`` that ``fn(*args, **kwargs)`` raises, for a chapter that shows an input
    being refused.

    Raises
    ------
    AssertionError
        If the call raises no ``ValueError``.
    """
    try:
        fn(*args, **kwargs)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"{getattr(fn, '__name__', fn)} accepted {args} {kwargs}: it must raise ValueError")


def sweep_results(sweeps: Mapping[tuple, object]) -> dict:
    """The headline numbers of error sweeps for a results file: per sweep (keyed ``range_R_alpha_A``) and reset,
    the share of runs above ``theta`` at the largest and the smallest spike count and the largest error; and
    the largest reset-to-mod error over all sweeps (below 1 by Theorem 1)."""
    def tag(r, a):
        return f"range_{r:g}_alpha_{a:g}"

    return {
        "fraction_above_theta_at_largest_n": {tag(r, a): {reset: s.fraction_above(reset)[-1] for reset in s.resets}
                                              for (r, a), s in sweeps.items()},
        "fraction_above_theta_at_smallest_n": {tag(r, a): {reset: s.fraction_above(reset)[0] for reset in s.resets}
                                               for (r, a), s in sweeps.items()},
        "max_error_over_theta": {tag(r, a): {reset: s[reset].max() for reset in s.resets}
                                 for (r, a), s in sweeps.items()},
        "mod_max_error_over_theta": max(s["mod"].max() for s in sweeps.values()),
    }


def concentration_results(conc: Mapping[tuple, Mapping], slopes: Mapping[tuple, float],
                          seed_stats: Mapping[tuple, Mapping]) -> dict:
    """The concentration of the reset-to-mod error (per sweep: mean, std, median, IQR, ``1 - max`` per spike
    count and the slope of ``log(1 - median)``) and the headline numbers over seeds (mean, std), for a results
    file; keys ``range_R_alpha_A`` as in :func:`sweep_results`."""
    def tag(r, a):
        return f"range_{r:g}_alpha_{a:g}"

    return {
        "mod_concentration": {tag(r, a): {"mean": c["mean"], "std": c["std"], "median": c["quantiles"][:, 2],
                                          "iqr": c["iqr"], "gap_1_minus_max": c["gap"],
                                          "slope_log_1_minus_median": slopes[(r, a)]}
                              for (r, a), c in conc.items()},
        "over_seeds": {tag(r, a): {k: {"mean": m, "std": sd} for k, (m, sd) in st.items()}
                       for (r, a), st in seed_stats.items()},
    }


ABLATION_EFFECTS = {
    "weight regulation": "qsnn_wr - qsnn",
    "spike regulation": "qsnn_sr - qsnn",
    "interaction": "(qsnn_wsdr - qsnn_sr) - (qsnn_wr - qsnn)",
    "WS-DR vs plain Q-SNN": "qsnn_wsdr - qsnn",
    "WS-DR vs full precision": "qsnn_wsdr - fp_snn",
}
"""The paired effects of the 2x2 ablation (weight regulation x spike regulation) and how each is formed."""


def ablation_effects(per_seed: Mapping[str, Mapping[int, float]], confidence: float = 0.95) -> dict:
    """The effects of :data:`ABLATION_EFFECTS` from per-seed accuracies of the five arms, paired by seed.

    ``per_seed`` maps ``fp_snn``, ``qsnn``, ``qsnn_wr``, ``qsnn_sr``, ``qsnn_wsdr`` to ``{seed: value}``. Every
    effect is a per-seed difference (the interaction a difference of differences) with its mean, sample std and
    t interval over the seeds (:func:`qsnn.experiments.paired_difference`). The arms of one seed share the
    initialisation and the data order, so pairing removes what the seed does to all arms alike.

    Raises
    ------
    ValueError
        If an arm is missing or the arms do not share their seeds.
    """
    arms = ("fp_snn", "qsnn", "qsnn_wr", "qsnn_sr", "qsnn_wsdr")
    missing = [a for a in arms if a not in per_seed]
    if missing:
        raise ValueError(f"ablation_effects needs the arms {', '.join(arms)}; missing {', '.join(missing)}")
    seeds = sorted(per_seed["qsnn"])
    if any(sorted(per_seed[a]) != seeds for a in arms):
        raise ValueError(f"the arms must share their seeds; got {({a: sorted(per_seed[a]) for a in arms})}")
    v = {a: {s: float(per_seed[a][s]) for s in seeds} for a in arms}
    zero = {s: 0.0 for s in seeds}
    sr_gain = {s: v["qsnn_wsdr"][s] - v["qsnn_sr"][s] for s in seeds}  # WR's effect with SR on
    wr_gain = {s: v["qsnn_wr"][s] - v["qsnn"][s] for s in seeds}  # WR's effect with SR off
    out = {
        "weight regulation": paired_difference(v["qsnn_wr"], v["qsnn"], confidence),
        "spike regulation": paired_difference(v["qsnn_sr"], v["qsnn"], confidence),
        "interaction": paired_difference({s: sr_gain[s] - wr_gain[s] for s in seeds}, zero, confidence),
        "WS-DR vs plain Q-SNN": paired_difference(v["qsnn_wsdr"], v["qsnn"], confidence),
        "WS-DR vs full precision": paired_difference(v["qsnn_wsdr"], v["fp_snn"], confidence),
    }
    for name, d in out.items():
        d["formed"] = ABLATION_EFFECTS[name]
    return out


def effects_text(effects: Mapping[str, Mapping], scale: float = 100.0, unit: str = "points") -> str:
    """One line per effect of :func:`ablation_effects`: mean, 95 % interval, per-seed values."""
    lines = [f"{'effect':<25} {'mean':>7}   {'95 % interval':>18}   per seed"]
    for name, d in effects.items():
        lo, hi = d["ci"] if d["ci"] is not None else (math.nan, math.nan)
        per = " ".join(f"{scale * x:+z.2f}" for x in d["per_seed"].values())
        lines.append(f"{name:<25} {scale * d['mean']:>+z7.2f}   [{scale * lo:+z7.2f}, {scale * hi:+z7.2f}]   {per}")
    return "\n".join(lines) + f"\n(in {unit} of accuracy; t interval over {next(iter(effects.values()))['n']} seeds)"


def paper_table(rows: Sequence[Mapping]) -> str:
    """A table in the style of the Q-SNN paper's result tables.

    Every row holds ``method``, ``weight_bits``, ``membrane_bits`` (None: 32), ``time_steps``, ``size_mb``,
    ``accuracy`` (``{"mean", "std"}`` fractions, a reported percentage as a float, or None for a network not
    trained: "no run") and ``reference_mb`` (the full-precision size the reduction is taken against).
    """
    lines = [f"{'method':<28} {'W bits':>6} {'U bits':>6} {'T':>3} {'size [kB]':>10} {'accuracy [%]':>15} {'reduction':>10}"]
    for r in rows:
        acc = r["accuracy"]
        acc_text = ("no run" if acc is None else f"{100 * acc['mean']:.2f} +- {100 * acc['std']:.2f}"
                    if isinstance(acc, Mapping) else f"{acc:.2f}")
        u = 32 if r["membrane_bits"] is None else r["membrane_bits"]
        red = 1.0 - r["size_mb"] / r["reference_mb"]
        lines.append(f"{r['method']:<28} {r['weight_bits']:>6} {u:>6} {r['time_steps']:>3} {1e3 * r['size_mb']:>10.2f} "
                     f"{acc_text:>15} {100 * red:>9.1f}%")
    return "\n".join(lines)


def spiking_untrained(model, var_per_feature: float = 9.0, bias: float = 0.6):
    """Set the BatchNorm statistics of an untrained network so that its layers spike, for timing it.

    An untrained network's BatchNorm (running variance 1, bias 0) leaves its LIF layers silent or saturated,
    and an engine that skips zero inputs would look fast on silence. Every ``BatchNorm2d`` gets a running
    variance of ``var_per_feature`` times its number of features and the bias ``bias``, the setting of
    ``benchmarks/bench_deploy.py``. Returns the model (changed in place, in eval mode).
    """
    import torch

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.fill_(m.num_features * var_per_feature)
                m.bias.fill_(bias)
    return model.eval()
