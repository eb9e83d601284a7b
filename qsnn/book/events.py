"""What chapter 6 computes from emulated events: the properties the DVS pixel model implies, checked on a digit;
tonic's transforms on the emulated streams; the statistics of the emulated data set and its frames; the
presence of the recorded CIFAR10-DVS and the paper-scale configurations for it.

The events are those of :mod:`qsnn.data.events` (a digit moved along N-MNIST's saccades in front of an emulated
dynamic vision sensor); the recorded data set is CIFAR10-DVS (Li et al. 2017), on which Wei et al., "Q-SNNs:
Quantized Spiking Neural Networks" (arXiv:2406.13672) report their event-data results. Imports :mod:`qsnn.data`
(and so torch).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Mapping, Sequence

import numpy as np
import torch

from ..data import DatasetNotFoundError, load_dataset
from ..data.events import EmulatedDigits, emulate_events, events_to_frames

__all__ = ["tonic_transforms", "tonic_to_frame", "emulator_properties", "properties_text", "polarity_inversion",
           "denoise_table", "denoise_range", "emulated_digit_sets", "event_set_statistics", "event_statistics_text",
           "event_sets_text", "event_set_values", "dvs_config_line", "dataset_status"]


def tonic_transforms():
    """``tonic.transforms``, imported without the warning tonic's progress bars give in a kernel without
    ipywidgets (it would show in the chapter's output)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import tonic.transforms

    return tonic.transforms


def tonic_to_frame(events, sensor_size, n_time_bins: int) -> np.ndarray:
    """``tonic.transforms.ToFrame`` with ``n_time_bins`` bins: frames ``[bins, P, H, W]`` binned from the stream's
    first to its last event (the events at the very last timestamp are left out, unlike
    :class:`qsnn.data.events.ToFrames`)."""
    return tonic_transforms().ToFrame(sensor_size=sensor_size, n_time_bins=n_time_bins)(events)


def emulator_properties(image, seed: int, *, contrast_threshold: float, upsample: float, duration_us: int,
                        threshold_sigma: float = 0.03, noise_rate_hz: float = 5.0) -> dict:
    """The four properties the DVS pixel model implies, measured on ``image`` with
    :func:`qsnn.data.events.emulate_events`: a still image gives no event; half the contrast threshold gives more
    events; the inverted image swaps the polarity (:func:`polarity_inversion`); with threshold mismatch
    (``threshold_sigma``) and background noise (``noise_rate_hz``) the same seed repeats the events and another
    seed does not.

    Returns ``events`` (the recording at ``contrast_threshold``, seed ``seed``), ``still``, ``finer`` (event
    counts), ``inversion`` (:func:`polarity_inversion`), ``noisy`` (the counts for seed, seed again, seed + 1),
    ``same_seed_identical`` and ``other_seed_identical``.
    """
    kw = dict(contrast_threshold=contrast_threshold, upsample=upsample, duration_us=duration_us)
    noisy = dict(kw, threshold_sigma=threshold_sigma, noise_rate_hz=noise_rate_hz)
    a, b, c = (emulate_events(image, seed=s, **noisy) for s in (seed, seed, seed + 1))
    return {"events": int(emulate_events(image, seed=seed, **kw).size),
            "still": int(emulate_events(image, path="none", **kw).size),
            "finer": int(emulate_events(image, **dict(kw, contrast_threshold=contrast_threshold / 2)).size),
            "inversion": polarity_inversion(image, **kw), "noisy": (int(a.size), int(b.size), int(c.size)),
            "same_seed_identical": bool(np.array_equal(a, b)), "other_seed_identical": bool(np.array_equal(a, c))}


def properties_text(props: Mapping, contrast_threshold: float, seed: int) -> str:
    """The lines chapter 6 prints for :func:`emulator_properties`."""
    n, inv, (a, b, c) = props["events"], props["inversion"], props["noisy"]
    return "\n".join([
        f"still image:            {props['still']} events",
        f"{f'C = {contrast_threshold:g}:':<24}{n} events",
        f"{f'C = {contrast_threshold / 2:g}:':<24}{props['finer']} events ({props['finer'] / n:.2f}x)",
        f"inverted image:         net polarity opposite in {inv['opposite']:.1%} of {inv['cells']} "
        f"(saccade, pixel) cells; the recording against itself: {inv['control']:.1%}",
        f"                        ON fraction {inv['on_fraction']:.3f} original, "
        f"{inv['on_fraction_inverted']:.3f} inverted (uninformative: both about one half)",
        f"mismatch + noise:       seed {seed}: {a} events, again: {b} (identical: {props['same_seed_identical']}), "
        f"seed {seed + 1}: {c}",
    ])


def event_set_statistics(dataset, frames, duration_us: float) -> dict:
    """Statistics of an event data set and of its frames, as chapter 6 reports them.

    ``dataset`` has ``len``, ``events(i)`` (structured events with a polarity field ``p``), ``targets`` and
    ``sensor_size`` (W, H, P), as :class:`qsnn.data.events.EmulatedDigits`; ``frames`` are its framed
    recordings ``[N, T, 2, H, W]`` (a tensor). Returns events per sample (mean, sample std, min, max), the ON
    fraction, the event rate per pixel and second, the share of pixels with an event per frame, the events per
    active pixel and frame, and the mean events per class (classes 0-9; None for a class with no recording).
    """
    counts = np.array([dataset.events(i).size for i in range(len(dataset))])
    on_frac = np.array([dataset.events(i)["p"].mean() for i in range(len(dataset))])
    targets = np.asarray(dataset.targets)
    active = (frames.sum(2) > 0).float().mean((2, 3))  # fraction of pixels with an event, [N, T]
    w, h = dataset.sensor_size[0], dataset.sensor_size[1]
    return {
        "sensor_size": list(dataset.sensor_size),
        "events_per_sample": {"mean": float(counts.mean()), "std": float(counts.std(ddof=1)),
                              "min": int(counts.min()), "max": int(counts.max())},
        "on_fraction": float(on_frac.mean()),
        "rate_hz_per_pixel": float(counts.mean() / (w * h * duration_us * 1e-6)),
        "active_pixel_fraction_per_frame": [float(v) for v in active.mean(0)],
        "events_per_active_pixel": float(frames.sum() / (frames.sum(2) > 0).sum()),
        # a class with no recording (a reader's subset) has no mean: None, not NaN with a warning
        "events_per_class": [float(counts[targets == c].mean()) if (targets == c).any() else None for c in range(10)],
    }


def event_statistics_text(stats: Mapping) -> str:
    """The lines chapter 6 prints for :func:`event_set_statistics`."""
    e = stats["events_per_sample"]
    return "\n".join([
        f"events per recording:  {e['mean']:.1f} +- {e['std']:.1f} (min {e['min']}, max {e['max']})",
        f"ON fraction:           {stats['on_fraction']:.3f}",
        f"event rate:            {stats['rate_hz_per_pixel']:.1f} per pixel and second",
        "active pixels / frame: " + ", ".join(f"{v:.1%}" for v in stats["active_pixel_fraction_per_frame"]),
        f"events per active pixel and frame: {stats['events_per_active_pixel']:.2f}",
        "events per class:      " + ", ".join(f"{c}: {'none' if v is None else f'{v:.0f}'}"
                                         for c, v in enumerate(stats["events_per_class"])),
    ])


def polarity_inversion(image, *, contrast_threshold: float, upsample: float, duration_us: int, pad: int = 4,
                       bins: int = 3) -> dict:
    """Does inverting an image (``I -> max I - I``) swap the polarity of its events, pixel by pixel?

    The image is padded with ``pad`` zero pixels on each side (so that the inverted image's own border, bright
    against the dark outside, moves far from the strokes), recorded as it is and inverted with
    :func:`qsnn.data.events.emulate_events`, and binned into ``bins`` equal time bins (3: one per saccade, in
    each of which the image moves one way). For every bin and sensor pixel inside the padded area where both
    recordings have a non-zero net polarity (ON minus OFF count), the check compares their signs: the inverted
    image must give the opposite sign, because every change of intensity changes direction. The same
    comparison of the recording with itself (``control``, 0 opposite) shows what an inversion that does not
    swap the polarity would score.

    Returns
    -------
    dict
        ``cells`` (bin-pixel pairs compared), ``opposite`` (the share with opposite net polarity),
        ``control`` (the share for the recording against itself), ``on_fraction`` and ``on_fraction_inverted``
        (fractions of ON events), ``events`` and ``events_inverted``.
    """
    img = np.pad(np.asarray(image, dtype=float), pad)
    kw = dict(contrast_threshold=contrast_threshold, upsample=upsample, duration_us=duration_us)
    ev = {"original": emulate_events(img, **kw), "inverted": emulate_events(img.max() - img, **kw)}
    width = int(max(e["x"].max() for e in ev.values())) + 1
    height = int(max(e["y"].max() for e in ev.values())) + 1
    net = {k: (lambda f: f[:, 1] - f[:, 0])(events_to_frames(e, (width, height, 2), bins, duration_us))
           for k, e in ev.items()}
    margin = int(math.ceil(pad * upsample))
    inside = np.zeros((height, width), dtype=bool)
    inside[margin:height - margin, margin:width - margin] = True
    both = (net["original"] != 0) & (net["inverted"] != 0) & inside[None]
    a, b = np.sign(net["original"][both]), np.sign(net["inverted"][both])
    return {"cells": int(both.sum()), "opposite": float(np.mean(a == -b)) if both.any() else float("nan"),
            "control": float(np.mean(a == -a)) if both.any() else float("nan"),
            "on_fraction": float(np.mean(ev["original"]["p"])),
            "on_fraction_inverted": float(np.mean(ev["inverted"]["p"])),
            "events": int(ev["original"].size), "events_inverted": int(ev["inverted"].size)}


def denoise_table(image, views: Mapping[str, float], filter_times_us: Sequence[float], noise_rate_hz: float,
                  seed: int, **emulator) -> tuple[dict, str]:
    """How much signal and how much background noise tonic's ``Denoise`` keeps, per sensor view and filter time.

    For each view (name -> upsampling factor) the image is emulated without noise (the signal) and with
    background noise at ``noise_rate_hz`` per pixel and second; an event of the noisy recording counts as
    signal when the clean recording has the same (t, p, y, x). ``emulator`` are the other options of
    :func:`qsnn.data.events.emulate_events`. Returns ``(table, text)``: ``table[view]`` holds
    ``signal_events``, ``noise_events`` and ``kept[str(filter time)] = {"signal", "noise"}`` (fractions kept).
    """
    tt = tonic_transforms()

    def key(ev):  # one integer per event
        return ((ev["t"] * 2 + ev["p"]) * 64 + ev["y"]) * 64 + ev["x"]

    lines = [f"{'view':<18} {'signal':>7} {'noise':>6}   "
             + "  ".join(f"{f'filter {f / 1e3:g} ms':>22}" for f in filter_times_us),
             f"{'':<18} {'events':>7} {'events':>6}   "
             + "  ".join(f"{'signal kept':>11}{'noise kept':>11}" for _ in filter_times_us)]
    table = {}
    for view, up in views.items():
        clean = emulate_events(image, **dict(emulator, upsample=up))
        with_noise = emulate_events(image, noise_rate_hz=noise_rate_hz, seed=seed, **dict(emulator, upsample=up))
        n_noise = int((~np.isin(key(with_noise), key(clean))).sum())
        row = []
        for f in filter_times_us:
            signal = np.isin(key(tt.Denoise(filter_time=f)(with_noise)), key(clean))
            row.append((signal.sum() / clean.size, (~signal).sum() / n_noise))
        table[view] = {"signal_events": int(clean.size), "noise_events": n_noise,
                       "kept": {str(f): {"signal": float(a), "noise": float(b)}
                                for f, (a, b) in zip(filter_times_us, row)}}
        lines.append(f"{view:<18} {clean.size:>7} {n_noise:>6}   " + "  ".join(f"{a:>11.1%}{b:>11.1%}" for a, b in row))
    return table, "\n".join(lines)


def denoise_range(table: Mapping[str, Mapping], filter_time_us: float) -> dict:
    """Over the views of :func:`denoise_table`, the least and the largest share (percent) of signal and of noise
    that the filter time ``filter_time_us`` keeps: ``short_signal_min``, ``short_signal_max``,
    ``short_noise_min``, ``short_noise_max``."""
    kept = [row["kept"][str(filter_time_us)] for row in table.values()]
    return {"short_signal_min": 100 * min(k["signal"] for k in kept),
            "short_signal_max": 100 * max(k["signal"] for k in kept),
            "short_noise_min": 100 * min(k["noise"] for k in kept),
            "short_noise_max": 100 * max(k["noise"] for k in kept)}


def emulated_digit_sets(emulator: Mapping, dataset_kwargs: Mapping, time_steps: int, seed: int):
    """Record the emulated digits (train and test split) and frame them as training reads them.

    ``emulator`` are the options of :class:`qsnn.data.events.EmulatedDigits`, ``dataset_kwargs`` those of the
    ``emulated_digits`` data set (:func:`qsnn.data.load_dataset`). Returns ``(recordings, frame_sets, statistics,
    seconds)``: the recordings and the framed data sets per split, :func:`event_set_statistics` of the training
    split, and the seconds recording and framing took.
    """
    t0 = time.perf_counter()
    recordings = {s: EmulatedDigits(train=(s == "train"), **emulator) for s in ("train", "test")}
    frame_sets = {s: load_dataset("emulated_digits", split=s, time_steps=time_steps, seed=seed,
                                  dataset_kwargs=dict(dataset_kwargs)) for s in ("train", "test")}
    seconds = time.perf_counter() - t0
    train = recordings["train"]
    frames = torch.stack([frame_sets["train"][i][0] for i in range(len(train))])  # [N, T, 2, H, W]
    return recordings, frame_sets, event_set_statistics(train, frames, emulator["duration_us"]), seconds


def event_sets_text(recordings: Mapping, frame_sets: Mapping, stats: Mapping) -> str:
    """The sizes of the splits, the sensor and the frames, then :func:`event_statistics_text`."""
    train = recordings["train"]
    return (f"train/test recordings: {len(train)}/{len(recordings['test'])}, sensor (W, H, P) = {train.sensor_size}, "
            f"frames {tuple(frame_sets['train'][0][0].shape)}\n" + event_statistics_text(stats))


def event_set_values(recordings: Mapping, stats: Mapping) -> dict:
    """The numbers chapter 6 quotes of its event data: the recordings per split (``n_total``, ``n_train``,
    ``n_test``), events per recording (``events_mean``, ``events_std``), ``on_fraction``, the sensor
    (``sensor_w``, ``sensor_h``) and the least and largest share of active pixels per frame in percent
    (``active_min``, ``active_max``)."""
    n_train, n_test = len(recordings["train"]), len(recordings["test"])
    active = stats["active_pixel_fraction_per_frame"]
    return {"n_total": n_train + n_test, "n_train": n_train, "n_test": n_test,
            "events_mean": stats["events_per_sample"]["mean"], "events_std": stats["events_per_sample"]["std"],
            "on_fraction": stats["on_fraction"], "sensor_w": stats["sensor_size"][0],
            "sensor_h": stats["sensor_size"][1], "active_min": 100 * min(active), "active_max": 100 * max(active)}


def dvs_config_line(stem: str, config, info) -> str:
    """One line per paper-scale DVS configuration: model, data and frame shape, time steps, epochs, membrane
    precision and quantizer, spike-rate weight; ``info`` is the data set's :func:`qsnn.data.dataset_info`."""
    return (f"{stem + '.yaml':<24} model {config.model:<6} data {config.dataset} {info.in_channels}x"
            f"{info.input_size[0]}x{info.input_size[1]}, T = {config.time_steps}, {config.epochs} epochs, "
            f"{config.model_kwargs['membrane_bits']}-bit {config.model_kwargs['membrane_quantizer']} membranes, "
            f"lambda_SR = {config.lambda_sr:g}")


def dataset_status(name: str, root, **kwargs) -> str:
    """Whether the recorded data set ``name`` is in ``root``: a line naming its folder when it loads
    (:func:`qsnn.data.load_dataset` with ``kwargs``), else the loader's message, which says where to put the
    files (nothing is downloaded)."""
    try:
        load_dataset(name, root, **kwargs)
    except DatasetNotFoundError as err:
        return f"DatasetNotFoundError: {err}"
    return f"{name} found in {root}"
