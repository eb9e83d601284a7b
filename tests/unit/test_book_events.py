"""Tests of qsnn.book.events: the emulator's properties, tonic's transforms on emulated streams, the statistics of
an event data set, and the presence and configurations of the recorded CIFAR10-DVS, against direct computations."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from qsnn.book import events
from qsnn.data.events import emulate_events

KW = dict(contrast_threshold=0.15, upsample=1.0, duration_us=300_000)


def _digit():
    image = np.zeros((8, 8))
    image[2:6, 3:5] = 16.0
    image[3, 2:6] = 8.0
    return image


class _Events:
    """Two recordings on a 2x1 sensor, by hand."""
    sensor_size = (2, 1, 2)
    targets = [0, 1]
    _ev = [np.array([(1,), (1,), (0,)], dtype=[("p", "i1")]), np.array([(0,)], dtype=[("p", "i1")])]

    def __len__(self):
        return 2

    def events(self, i):
        return self._ev[i]


def test_event_set_statistics_by_hand():
    from qsnn.book.events import event_set_statistics, event_statistics_text

    frames = torch.zeros(2, 1, 2, 1, 2)  # [N, T, P, H, W]
    frames[0, 0, 1, 0, 0] = 2
    frames[0, 0, 0, 0, 1] = 1
    frames[1, 0, 0, 0, 0] = 1
    s = event_set_statistics(_Events(), frames, duration_us=1e6)
    assert s["events_per_sample"] == {"mean": 2.0, "std": pytest.approx(math.sqrt(2)), "min": 1, "max": 3}
    assert s["on_fraction"] == pytest.approx((2 / 3 + 0) / 2)
    assert s["rate_hz_per_pixel"] == pytest.approx(2.0 / 2)  # 2 events per recording, 2 pixels, 1 s
    assert s["active_pixel_fraction_per_frame"] == [pytest.approx(0.75)]  # 2 of 2 pixels, then 1 of 2
    assert s["events_per_active_pixel"] == pytest.approx(4 / 3)
    assert s["events_per_class"] == [3.0, 1.0] + [None] * 8  # classes 2-9 have no recording
    assert "events per recording:  2.0 +- 1.4 (min 1, max 3)" in event_statistics_text(s)
    assert "events per class:      0: 3, 1: 1, 2: none," in event_statistics_text(s)


def test_denoise_table_counts_signal_and_noise_events():
    from qsnn.book.events import denoise_table

    image = np.zeros((8, 8))
    image[2:6, 3:5] = 1.0
    table, text = denoise_table(image, {"view": 1.0}, [10_000, 1e9], 200.0, 0, contrast_threshold=0.2,
                                duration_us=300_000)
    row = table["view"]
    assert row["noise_events"] > 0 and row["signal_events"] > 0
    kept = row["kept"]
    assert all(0.0 <= k["signal"] <= 1.0 and 0.0 <= k["noise"] <= 1.0 for k in kept.values())
    assert kept["1000000000.0"]["noise"] >= kept["10000"]["noise"]  # a longer filter time keeps more
    assert len(text.split("\n")) == 3 and text.split("\n")[2].split()[:3] == ["view", str(row["signal_events"]),
                                                                              str(row["noise_events"])]


def test_emulator_properties_against_direct_emulation():
    image = _digit()
    props = events.emulator_properties(image, 3, **KW)
    assert props["events"] == emulate_events(image, seed=3, **KW).size > 0
    assert props["still"] == emulate_events(image, path="none", **KW).size == 0
    assert props["finer"] == emulate_events(image, **dict(KW, contrast_threshold=0.075)).size > props["events"]
    noisy = dict(KW, threshold_sigma=0.03, noise_rate_hz=5.0)
    assert props["noisy"] == tuple(emulate_events(image, seed=s, **noisy).size for s in (3, 3, 4))
    assert props["same_seed_identical"] and not props["other_seed_identical"]
    assert props["inversion"] == events.polarity_inversion(image, **KW)


def test_properties_text_lines():
    props = {"events": 100, "still": 0, "finer": 212, "noisy": (120, 120, 131), "same_seed_identical": True,
             "other_seed_identical": False, "inversion": {"opposite": 1.0, "cells": 166, "control": 0.0,
                                                          "on_fraction": 0.503, "on_fraction_inverted": 0.498}}
    lines = events.properties_text(props, 0.15, 0).splitlines()
    assert lines[0] == "still image:            0 events"
    assert lines[1] == "C = 0.15:               100 events"
    assert lines[2] == "C = 0.075:              212 events (2.12x)"
    assert lines[3].startswith("inverted image:         net polarity opposite in 100.0% of 166 (saccade, pixel) cells")
    assert lines[5] == "mismatch + noise:       seed 0: 120 events, again: 120 (identical: True), seed 1: 131"


def test_tonic_to_frame_is_tonics_transform():
    ev = emulate_events(_digit(), seed=0, **KW)
    sensor = (int(ev["x"].max()) + 1, int(ev["y"].max()) + 1, 2)
    frames = events.tonic_to_frame(ev, sensor, 4)
    expected = events.tonic_transforms().ToFrame(sensor_size=sensor, n_time_bins=4)(ev)
    assert frames.shape == (4, 2, sensor[1], sensor[0]) and np.array_equal(frames, expected)
    assert 0 < frames.sum() <= ev.size  # tonic leaves out the events at the very last timestamp


def test_denoise_range_over_views_in_percent():
    table = {"a": {"kept": {"3000": {"signal": 0.8, "noise": 0.3}, "10000": {"signal": 1.0, "noise": 0.9}}},
             "b": {"kept": {"3000": {"signal": 0.9, "noise": 0.4}}}}
    assert events.denoise_range(table, 3000) == {"short_signal_min": pytest.approx(80.0),
                                                 "short_signal_max": pytest.approx(90.0),
                                                 "short_noise_min": pytest.approx(30.0),
                                                 "short_noise_max": pytest.approx(40.0)}


def test_event_set_values_and_text():
    stats = {"sensor_size": [10, 10, 2], "events_per_sample": {"mean": 1511.9, "std": 150.2, "min": 1091, "max": 1971},
             "on_fraction": 0.502, "rate_hz_per_pixel": 50.4, "active_pixel_fraction_per_frame": [0.547, 0.484],
             "events_per_active_pixel": 7.24, "events_per_class": [1.0] * 10}
    recordings = {"train": _Sized(1437, (10, 10, 2)), "test": _Sized(360, (10, 10, 2))}
    values = events.event_set_values(recordings, stats)
    assert values == {"n_total": 1797, "n_train": 1437, "n_test": 360, "events_mean": 1511.9, "events_std": 150.2,
                      "on_fraction": 0.502, "sensor_w": 10, "sensor_h": 10, "active_min": pytest.approx(48.4),
                      "active_max": pytest.approx(54.7)}
    frame_sets = {"train": [(torch.zeros(4, 2, 10, 10), 0)]}
    text = events.event_sets_text(recordings, frame_sets, stats).splitlines()
    assert text[0] == "train/test recordings: 1437/360, sensor (W, H, P) = (10, 10, 2), frames (4, 2, 10, 10)"
    assert text[1:] == events.event_statistics_text(stats).splitlines()


class _Sized:
    def __init__(self, n, sensor_size):
        self.n, self.sensor_size = n, sensor_size

    def __len__(self):
        return self.n


def test_dvs_config_line():
    cfg = SimpleNamespace(model="vgg11", dataset="cifar10dvs", time_steps=10, epochs=300, lambda_sr=5e-3,
                          model_kwargs={"membrane_bits": 8, "membrane_quantizer": "tanh"})
    info = SimpleNamespace(in_channels=2, input_size=(48, 48))
    assert events.dvs_config_line("vgg11_dvs_cifar10", cfg, info) == (
        "vgg11_dvs_cifar10.yaml   model vgg11  data cifar10dvs 2x48x48, T = 10, 300 epochs, 8-bit tanh membranes, "
        "lambda_SR = 0.005")


def test_dataset_status_says_where_the_files_go(tmp_path):
    missing = events.dataset_status("cifar10dvs", tmp_path, split="train", time_steps=10,
                                    dataset_kwargs={"frame_size": 48})
    assert missing.startswith("DatasetNotFoundError: CIFAR10DVS not found") and "No download" in missing
    assert events.dataset_status("digits", tmp_path, split="test") == f"digits found in {tmp_path}"


def test_emulated_digit_sets_record_and_frame_both_splits():
    kwargs = {"contrast_threshold": 0.15, "duration_us": 300_000, "upsample": 1.0, "noise_rate_hz": 0.0,
              "denoise_us": None}
    emulator = {k: kwargs[k] for k in ("contrast_threshold", "duration_us", "upsample", "noise_rate_hz")}
    recordings, frame_sets, stats, seconds = events.emulated_digit_sets(emulator, kwargs, 4, 0)
    assert (len(recordings["train"]), len(recordings["test"])) == (1437, 360)  # the digits' split
    assert len(frame_sets["train"]) == 1437 and seconds > 0
    frames = torch.stack([frame_sets["train"][i][0] for i in range(1437)])
    assert stats == events.event_set_statistics(recordings["train"], frames, 300_000)
