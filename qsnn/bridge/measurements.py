"""Part I's norms measured inside trained networks.

:func:`layer_currents` records the input currents of every :class:`qsnn.nn.LIF` of a model;
:func:`quantization_errors` computes per neuron the norm of ``theta S - I`` divided by theta for the
network's own reset and for the others on the same currents, with Part I's batched kernel (:func:`qsnn.alexiewicz_norm_batch`, one call per layer and reset).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._core.resets import RESETS
from .._core.validation import check_reset
from ..nn import LIF
from .layer import _flat_tensor, error_norms, layer_spikes
from .theory import membrane_bound

__all__ = ["LayerCurrents", "layer_currents", "quantization_errors", "network_quantization_errors",
           "nonnegative_neurons", "error_summary", "network_error_statistics", "error_statistics_text",
           "spike_costs"]


@dataclass(frozen=True)
class LayerCurrents:
    """The input currents and spikes of one LIF layer of a network, recorded on some inputs.

    Attributes
    ----------
    name : str
        The module's name in ``model.named_modules()``.
    currents : torch.Tensor, shape [T, B, ...]
        ``I[t]``, the layer's input (detached copy, the network's dtype).
    spikes : torch.Tensor, shape [T, B, ...]
        ``S[t]``, the layer's output.
    decay, threshold : float
    reset : str
    bits : int or None
        ``membrane_bits``.
    scale : float or None
        The uniform quantizer's scale at recording time (None for the tanh quantizer).
    quantizer : str
    """

    name: str
    currents: torch.Tensor
    spikes: torch.Tensor
    decay: float
    threshold: float
    reset: str
    bits: int | None
    scale: float | None
    quantizer: str

    @property
    def neurons(self) -> int:
        """Neurons per time step and sample batch: ``B * prod(...)``."""
        return int(np.prod(self.currents.shape[1:]))


def layer_currents(model: torch.nn.Module, x: torch.Tensor) -> list[LayerCurrents]:
    """Record the input currents ``I[t]`` (and spikes) of every :class:`qsnn.nn.LIF` of ``model`` on ``x``.

    Forward hooks on the LIF modules, one forward pass in eval mode without gradients (the model's mode is
    restored, the hooks removed, also on errors).

    Parameters
    ----------
    model : torch.nn.Module
        A network whose spiking layers are :class:`qsnn.nn.LIF` (e.g. :func:`qsnn.models.build`).
    x : torch.Tensor
        Its input, time first ``[T, B, ...]`` (:func:`qsnn.data.to_time_first` for loader batches).

    Returns
    -------
    list of LayerCurrents
        In the order the layers ran.

    Raises
    ------
    ValueError
        If the model has no LIF layer.
    """
    lifs = [(name, m) for name, m in model.named_modules() if isinstance(m, LIF)]
    if not lifs:
        raise ValueError(f"{type(model).__name__} has no qsnn.nn.LIF layer to record")
    records: list[LayerCurrents] = []

    def hook(name):
        def record(module, inputs, output):
            tanh = module.membrane_quantizer == "tanh"
            records.append(LayerCurrents(
                name=name, currents=inputs[0].detach().clone(), spikes=output.detach().clone(),
                decay=module.decay, threshold=module.threshold, reset=module.reset, bits=module.membrane_bits,
                scale=None if tanh else module.scale(), quantizer=module.membrane_quantizer))
        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in lifs]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return records


def quantization_errors(currents, decay: float, threshold: float = 1.0, resets=RESETS, bits: int | None = None,
                        scale: float | None = None, quantizer: str = "uniform") -> dict:
    """Per neuron ``||theta S - I||_{A,alpha} / theta`` for each reset, on the same currents.

    For every reset the layer (:func:`layer_spikes`, with the given membrane quantization) runs on the
    currents; then one call of Part I's batched norm over all neurons (:func:`error_norms`). With the
    network's own reset, bits, scale and quantizer, and its float32 currents, the spikes are the
    network's own.

    Parameters
    ----------
    currents : torch.Tensor or array_like, shape [T, ...]
        Time-first currents (e.g. :attr:`LayerCurrents.currents`, shape [T, B, C, H, W]).
    decay, threshold : float
    resets : sequence of {"zero", "subtract", "mod"}
    bits, scale, quantizer
        The stored membrane, as :func:`layer_spikes`.

    Returns
    -------
    dict
        ``{reset: ndarray of float64, shape currents.shape[1:]}``. Reset-to-mod stays below 1 with a
        full-precision state (Theorem 1) and below ``membrane_bound / theta`` with a b-bit one on
        non-negative currents.

    Raises
    ------
    ValueError
        For currents without a time axis, non-finite currents, an unknown reset or bad parameters.
    """
    flat, shape = _flat_tensor(currents)
    resets = tuple(check_reset(r) for r in resets)
    out = {}
    for reset in resets:
        s = layer_spikes(flat, decay, threshold, reset, bits, scale, quantizer)
        out[reset] = error_norms(flat.double().numpy(), s, decay, threshold).reshape(shape)
    return out


def network_quantization_errors(records, resets=RESETS, bits="own") -> dict:
    """:func:`quantization_errors` of every recorded layer with the layer's own parameters.

    Parameters
    ----------
    records : list of LayerCurrents
        From :func:`layer_currents`.
    resets : sequence of str
    bits : "own", int or None
        ``"own"``: each layer's membrane (bits, scale, quantizer); an int or None overrides the bits
        (uniform quantizer with the layer's scale, or the threshold for a tanh layer).

    Returns
    -------
    dict
        ``{layer name: {reset: ndarray [B, ...]}}``.
    """
    out = {}
    for r in records:
        if bits == "own":
            b, s, q = r.bits, r.scale, r.quantizer
        else:
            b, s, q = bits, r.scale, "uniform"
        out[r.name] = quantization_errors(r.currents, r.decay, r.threshold, resets, b, s, q)
    return out


def nonnegative_neurons(currents) -> np.ndarray:
    """bool ``[...]``: the neurons whose current is >= 0 at every step (time first ``[T, ...]``), the ones
    Theorem 1 and :func:`membrane_bound` speak of."""
    flat, shape = _flat_tensor(currents)
    return (flat >= 0).all(dim=0).numpy().reshape(shape)


ERROR_QUANTILES = (0.5, 0.9, 0.99)


def error_summary(errors, bound: float | None = None) -> dict:
    """Distribution of per-neuron errors ``||theta S - I|| / theta`` (any shape, flattened).

    Returns
    -------
    dict
        ``n``, ``mean``, ``q50``/``q90``/``q99`` (quantiles), ``max``, ``above_threshold`` (the share
        >= 1, i.e. an error of at least theta) and, with ``bound`` (in units of theta), ``above_bound``
        (the share > bound). For ``n = 0`` every statistic is None.
    """
    e = np.asarray(errors, dtype=np.float64).ravel()
    out = {"n": int(e.size)}
    if e.size == 0:
        out.update({"mean": None, **{f"q{round(100 * q)}": None for q in ERROR_QUANTILES}, "max": None,
                    "above_threshold": None})
        if bound is not None:
            out["above_bound"] = None
        return out
    if not np.all(np.isfinite(e)):
        raise ValueError("errors must be finite")
    qs = np.quantile(e, ERROR_QUANTILES)
    out.update({"mean": float(e.mean()), **{f"q{round(100 * q)}": float(v) for q, v in zip(ERROR_QUANTILES, qs)},
                "max": float(e.max()), "above_threshold": float(np.mean(e >= 1.0))})
    if bound is not None:
        out["above_bound"] = float(np.mean(e > bound))
    return out


def network_error_statistics(records, resets=RESETS) -> dict:
    """Per recorded layer, the distribution of ``||theta S - I|| / theta`` for each reset on the layer's own
    currents and membrane, and the check of :func:`membrane_bound` where it applies.

    Returns
    -------
    dict
        ``{layer name: {"neurons", "nonnegative" (share of neurons with I >= 0 at every step),
        "bound" (membrane_bound / theta for the layer's bits, uniform quantizer; None for tanh),
        "errors": {reset: error_summary over all neurons},
        "mod_nonnegative": error_summary of reset-to-mod on the non-negative neurons, with the bound}}``,
        plus ``"all"``: the same pooled over the layers (``bound``: the largest).
    """
    resets = tuple(check_reset(r) for r in resets)
    out, pooled, pooled_mod, bounds, nonneg_total, total = {}, {r: [] for r in resets}, [], [], 0, 0
    for r in records:
        errs = quantization_errors(r.currents, r.decay, r.threshold, resets, r.bits, r.scale, r.quantizer)
        nonneg = nonnegative_neurons(r.currents)
        bound = None
        if r.quantizer == "uniform":
            bound = membrane_bound(r.bits, r.decay, r.threshold, r.scale, steps=r.currents.shape[0]) / r.threshold
            bounds.append(bound)
        mod = errs["mod"] if "mod" in errs else quantization_errors(
            r.currents, r.decay, r.threshold, ("mod",), r.bits, r.scale, r.quantizer)["mod"]
        out[r.name] = {"neurons": int(nonneg.size), "nonnegative": float(nonneg.mean()) if nonneg.size else None,
                       "bound": bound, "errors": {k: error_summary(v) for k, v in errs.items()},
                       "mod_nonnegative": error_summary(mod[nonneg], bound)}
        for k, v in errs.items():
            pooled[k].append(v.ravel())
        pooled_mod.append(mod[nonneg])
        nonneg_total += int(nonneg.sum())
        total += int(nonneg.size)
    bound = max(bounds) if bounds else None
    out["all"] = {"neurons": total, "nonnegative": nonneg_total / total if total else None, "bound": bound,
                  "errors": {k: error_summary(np.concatenate(v)) for k, v in pooled.items()},
                  "mod_nonnegative": error_summary(np.concatenate(pooled_mod) if pooled_mod else [], bound)}
    return out


def error_statistics_text(stats: dict, resets=RESETS) -> str:
    """A printed table of :func:`network_error_statistics`: per layer the share of non-negative neurons, the
    median and the largest error per reset, and reset-to-mod's largest on the non-negative neurons against
    the bound (all in units of theta)."""
    head = f"{'layer':<16} {'I >= 0':>7} " + " ".join(f"{r + ' q50/max':>17}" for r in resets)
    lines = [head + f" {'mod, I >= 0: max / bound':>26}"]
    for name, st in stats.items():
        cells = " ".join(f"{st['errors'][r]['q50']:>8.3f}/{st['errors'][r]['max']:<8.3f}" for r in resets)
        m = st["mod_nonnegative"]
        bound = "n/a (tanh)" if st["bound"] is None else f"{st['bound']:.4f}"
        mod = "no neuron" if m["n"] == 0 else f"{m['max']:.4f} / {bound}"
        share = "" if st["nonnegative"] is None else f"{st['nonnegative']:.3f}"
        lines.append(f"{name:<16} {share:>7} {cells} {mod:>26}")
    return "\n".join(lines)


def spike_costs(model: torch.nn.Module, records) -> list[dict]:
    """What the spikes of each recorded LIF layer cost downstream, per input sample.

    A layer with reset "mod" emits integer counts, so a spike value needs ``bits_per_value =
    ceil(log2(max_count + 1))`` bits instead of one. An event-driven layer adds a weight once per unit of
    count for every synapse it feeds: ``accumulates = events * fan_out``, with ``fan_out`` the output
    channels times the kernel area of the next convolution (or the outputs of the readout), borders
    ignored; pooling between does not change the number of outputs a spike reaches.

    Parameters
    ----------
    model : torch.nn.Module
        A chain in which every LIF feeds the next weight layer (VGG-style :class:`qsnn.models.SpikingModel`:
        one convolution or linear layer more than LIF layers, in module order).
    records : list of LayerCurrents
        :func:`layer_currents` of this model.

    Returns
    -------
    list of dict, one per layer
        ``name``, ``values`` (spike values per sample: T times the neurons), ``events`` (sum of the counts
        per sample), ``active`` (share of non-zero values), ``max_count``, ``bits_per_value``,
        ``spike_bits`` (values times bits_per_value, per sample), ``fan_out``, ``accumulates`` (per sample).

    Raises
    ------
    ValueError
        If the model is not such a chain (e.g. a ResNet, whose shortcuts fan a layer out twice) or the
        records are not those of its LIF layers.
    """
    weights = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    lifs = [name for name, m in model.named_modules() if isinstance(m, LIF)]
    if len(weights) != len(lifs) + 1:
        raise ValueError(f"spike_costs needs a chain of weight layers and LIF layers (one weight layer more); "
                         f"{type(model).__name__} has {len(weights)} weight layers and {len(lifs)} LIF layers")
    if [r.name for r in records] != lifs:
        raise ValueError("records must be layer_currents(model, x) of this model, every LIF layer in order")
    out = []
    for r, consumer in zip(records, weights[1:]):
        s = r.spikes.double()
        batch = s.shape[1]
        counts = s.reshape(-1)
        max_count = float(counts.max()) if counts.numel() else 0.0
        if isinstance(consumer, torch.nn.Conv2d):
            fan_out = consumer.out_channels * consumer.kernel_size[0] * consumer.kernel_size[1]
        else:
            fan_out = consumer.out_features
        bits = max(1, math.ceil(math.log2(max_count + 1)))  # a silent layer still sends 1-bit values
        values = counts.numel() / batch
        events = float(counts.sum()) / batch
        out.append({"name": r.name, "values": values, "events": events,
                    "active": float((counts != 0).double().mean()) if counts.numel() else 0.0,
                    "max_count": max_count, "bits_per_value": bits, "spike_bits": values * bits,
                    "fan_out": fan_out, "accumulates": events * fan_out})
    return out
