"""Tests of qsnn.data.events: the DVS emulator, the emulated digits, frames, statistics, offline readers."""

import os
import zipfile

import numpy as np
import pytest
import tonic
import tonic.transforms as tt
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal

from _event_files import no_network, tiny_nmnist  # noqa: F401 (no_network: a fixture)
from qsnn.data import emulator as EM
from qsnn.data import events as E
from qsnn.data import tonic_offline as TO
from qsnn.data.digits import load_digits_arrays
from qsnn.data.events import (
    DATASET_NAMES,
    EVENT_DTYPE,
    EmulatedDigits,
    ToFrames,
    emulate_events,
    emulated_sensor_size,
    event_statistics,
    events_to_frames,
    load_event_dataset,
    saccade_path,
    scatter_arrays,
)

images_st = arrays(np.float64, st.tuples(st.integers(3, 8), st.integers(3, 8)),
                   elements=st.floats(0, 16, allow_nan=False, allow_infinity=False))


@pytest.fixture(scope="module")
def digit():
    return load_digits_arrays("train")[0][0, 0]


def _stream(x, y, t, p):
    ev = np.empty(len(t), dtype=EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"], ev["p"] = x, y, t, p
    return ev


# ---------------------------------------------------------------- emulator: format
def test_dtype_is_tonics_nmnist_dtype(digit):
    """Events carry the structured dtype of tonic's N-MNIST (x, y, t, p)."""
    ev = emulate_events(digit)
    assert ev.dtype == tonic.datasets.NMNIST.dtype == EVENT_DTYPE


def test_events_sorted_and_in_bounds(digit):
    """Events are sorted by t, inside the sensor and the recording, polarities 0/1."""
    ev = emulate_events(digit, upsample=2, noise_rate_hz=5.0, duration_us=200_000)
    W, H, _ = emulated_sensor_size(digit.shape, upsample=2)
    assert ev.size > 0
    assert np.all(np.diff(ev["t"]) >= 0)
    assert ev["x"].min() >= 0 and ev["x"].max() < W
    assert ev["y"].min() >= 0 and ev["y"].max() < H
    assert ev["t"].min() >= 0 and ev["t"].max() <= 200_000
    assert set(np.unique(ev["p"])) <= {0, 1}


def test_default_sensor_fits_swept_area():
    """The default sensor is the upsampled image plus the saccade amplitude (8x8, x2 -> 20x20)."""
    assert emulated_sensor_size((8, 8), upsample=2) == (20, 20, 2)
    assert emulated_sensor_size((8, 8), path="none", upsample=2) == (16, 16, 2)
    assert emulated_sensor_size((8, 8), upsample=3.5) == (35, 35, 2)


def test_saccade_path_is_nmnist_triangle():
    """saccade_path(7) is N-MNIST's triangle: (+3.5, +7), (+3.5, -7), (-7, 0)."""
    assert_allclose(np.diff(saccade_path(7.0), axis=0), [[3.5, 7], [3.5, -7], [-7, 0]])


# ---------------------------------------------------------------- emulator: the pixel model
@settings(max_examples=25, deadline=None)
@given(images_st)
def test_static_scene_gives_no_events(image):
    """Without motion and noise the log intensity never changes: no events."""
    assert emulate_events(image, path="none", steps=10).size == 0


def test_lower_threshold_gives_more_events():
    """Lower contrast thresholds give strictly more events on real digits."""
    for image in load_digits_arrays("train")[0][:5, 0]:
        n = [emulate_events(image, contrast_threshold=c).size for c in (0.1, 0.2, 0.4)]
        assert n[0] > n[1] > n[2] > 0


@settings(max_examples=25, deadline=None)
@given(images_st, st.floats(0.05, 0.5), st.sampled_from([2, 3]))
def test_threshold_divided_by_integer_never_loses_events(image, c, m):
    """Per pixel, the threshold C/m (m integer) gives at least as many events as C."""
    a, b = (emulate_events(image, contrast_threshold=cc, steps=40) for cc in (c, c / m))
    W, H, _ = emulated_sensor_size(image.shape)
    count = lambda ev: np.bincount(ev["y"] * W + ev["x"], minlength=W * H)  # noqa: E731
    assert np.all(count(b) >= count(a))


def test_multiple_crossings_one_event_each_at_interpolated_times():
    """A jump of log(1 + eps) - log(eps) in one step gives floor(jump / C) events at the crossings."""
    eps, C, dt = 0.1, 0.15, 1000
    L = np.log(np.array([eps, 1 + eps]))[None, :, None]
    img, pix, t, p = EM._dvs_events(L, np.array([0, dt]), np.array([C]))
    n = int(np.floor((L[0, 1, 0] - L[0, 0, 0]) / C))
    assert n == 15 and t.size == n and np.all(p == 1)
    expected = np.ceil(np.arange(1, n + 1) * C / (L[0, 1, 0] - L[0, 0, 0]) * dt)
    assert_array_equal(t, expected)


def _reference_dvs(L, t_steps, C):
    """Plain per-pixel loop of the DVS model: n events in a step when |L_k - L_ref| >= n * C."""
    out = []
    for q in range(L.shape[1]):
        ref = L[0, q]
        for k in range(1, L.shape[0]):
            lp, lk = L[k - 1, q], L[k, q]
            s, n = (1.0 if lk > ref else -1.0), 0
            while abs(lk - ref) >= (n + 1) * C:
                n += 1
                frac = (ref + s * n * C - lp) / (lk - lp)
                t = np.ceil(t_steps[k - 1] + frac * (t_steps[k] - t_steps[k - 1]) - 1e-6)
                out.append((q, int(min(max(t, t_steps[k - 1] + 1), t_steps[k])), int(s > 0)))
            ref = ref + s * n * C
    return sorted(out)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 6), st.integers(1, 5)),
              elements=st.floats(-3, 3, allow_nan=False)), st.floats(0.1, 1.0))
def test_vectorised_model_matches_plain_loop(L, C):
    """The vectorised pixel model gives the same events as a plain per-pixel loop."""
    t_steps = np.arange(L.shape[0]) * 1000
    _, pix, t, p = EM._dvs_events(L[None], t_steps, np.full(L.shape[1], C))
    got = sorted(zip(pix.tolist(), t.tolist(), p.tolist(), strict=True))
    ref = _reference_dvs(L, t_steps, C)
    assert got == ref


@settings(max_examples=20, deadline=None)
@given(arrays(np.float64, (12, 12), elements=st.floats(0, 1, allow_nan=False)))
def test_inverted_image_flips_polarity_per_pixel_and_step(image):
    """Where the image always covers the sensor, I' = max(I) - I fires opposite polarities.

    Rendering is linear, so at every fully covered pixel I'(k) = max(I) - I(k) moves against I in
    each step; log is monotone, so every step in which a pixel fires in both recordings has ON
    events in one and OFF in the other (counts differ: the log is not symmetric under inversion).
    """
    kw = dict(sensor_size=(6, 6), steps=30, duration_us=30_000)
    a = emulate_events(image, **kw)
    b = emulate_events(image.max() - image, **kw)
    t_steps = np.arange(31) * 1000

    def pol(ev):
        key = np.searchsorted(t_steps, ev["t"]) * 100 + ev["y"] * 6 + ev["x"]
        d = {}
        for k, p in zip(key.tolist(), ev["p"].tolist(), strict=True):
            d.setdefault(k, set()).add(p)
        return d

    pa, pb = pol(a), pol(b)
    assert all(len(s) == 1 for s in (*pa.values(), *pb.values()))
    for k in pa.keys() & pb.keys():
        assert pa[k] != pb[k]


def test_inversion_swaps_on_and_off_on_a_digit(digit):
    """On a digit, inversion turns the ON events of shared pixel-steps into OFF events."""
    kw = dict(sensor_size=(4, 4), steps=60, duration_us=60_000, upsample=2)
    a, b = emulate_events(digit, **kw), emulate_events(digit.max() - digit, **kw)
    assert a.size > 0 and b.size > 0
    step = lambda ev: np.searchsorted(np.arange(61) * 1000, ev["t"])  # noqa: E731
    ka = dict(zip((step(a) * 100 + a["y"] * 4 + a["x"]).tolist(), a["p"].tolist(), strict=False))
    kb = dict(zip((step(b) * 100 + b["y"] * 4 + b["x"]).tolist(), b["p"].tolist(), strict=False))
    shared = ka.keys() & kb.keys()
    assert len(shared) > 0
    assert all(ka[k] == 1 - kb[k] for k in shared)


# ---------------------------------------------------------------- emulator: noise and seeds
def test_same_seed_same_events(digit):
    """Same seed, identical events (with noise and threshold mismatch on)."""
    kw = dict(noise_rate_hz=20.0, threshold_sigma=0.03, seed=7)
    a, b = emulate_events(digit, **kw), emulate_events(digit, **kw)
    assert_array_equal(a, b)


def test_different_seed_different_events(digit):
    """Different seeds give different noisy streams."""
    kw = dict(noise_rate_hz=20.0, threshold_sigma=0.03)
    a, b = emulate_events(digit, seed=1, **kw), emulate_events(digit, seed=2, **kw)
    assert a.size != b.size or not np.array_equal(a, b)


def test_noise_off_by_default_and_seed_irrelevant(digit):
    """With noise and mismatch off, the seed does not matter."""
    assert_array_equal(emulate_events(digit, seed=1), emulate_events(digit, seed=2))


def test_background_rate_matches_poisson_mean():
    """A static scene with noise gives rate * duration * pixels events (within 5 sigma)."""
    ev = emulate_events(np.ones((10, 10)), path="none", noise_rate_hz=50.0, duration_us=500_000)
    mean = 50.0 * 0.5 * 100
    assert abs(ev.size - mean) < 5 * np.sqrt(mean)
    assert 0.4 < ev["p"].mean() < 0.6


# ---------------------------------------------------------------- emulator: bad input
@pytest.mark.parametrize("kw, match", [
    (dict(contrast_threshold=-0.1), "contrast_threshold"),
    (dict(contrast_threshold=0.0), "contrast_threshold"),
    (dict(contrast_threshold=float("nan")), "contrast_threshold"),
    (dict(duration_us=0), "duration_us"),
    (dict(steps=0), "steps"),
    (dict(steps=10, duration_us=5), "steps"),
    (dict(upsample=0.5), "upsample"),
    (dict(log_eps=0.0), "log_eps"),
    (dict(noise_rate_hz=-1.0), "noise_rate_hz"),
    (dict(threshold_sigma=-0.1), "threshold_sigma"),
    (dict(path="spiral"), "path"),
    (dict(path=[(0, 0, 1)]), "path"),
    (dict(path=[(0, float("inf"))]), "path"),
    (dict(seed=-1), "seed"),
    (dict(seed=1.5), "seed"),
    (dict(sensor_size=(0, 5)), "sensor_size"),
    (dict(sensor_size=(5, 5, 1)), "sensor_size"),
])
def test_bad_arguments_raise(kw, match):
    """Invalid emulator arguments raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        emulate_events(np.ones((4, 4)), **kw)


@pytest.mark.parametrize("image", [np.ones(4), np.ones((2, 2, 2)), np.zeros((0, 3)),
                                   -np.ones((3, 3)), np.full((3, 3), np.nan)])
def test_bad_image_raises(image):
    """Images that are not 2-D, empty, negative or non-finite raise ValueError."""
    with pytest.raises(ValueError, match="image"):
        emulate_events(image)


def test_blank_image_gives_no_events():
    """An all-black image moving gives no events."""
    assert emulate_events(np.zeros((5, 5))).size == 0


# ---------------------------------------------------------------- frames and tonic transforms
def test_tonic_toframe_accepts_events(digit):
    """tonic's ToFrame turns emulated events into [T, 2, H, W] frames."""
    ev = emulate_events(digit, upsample=2)
    W, H, P = emulated_sensor_size(digit.shape, upsample=2)
    frames = tt.ToFrame(sensor_size=(W, H, P), n_time_bins=5)(ev)
    assert frames.shape == (5, 2, H, W)
    assert 0 < frames.sum() <= ev.size


def test_tonic_denoise_accepts_events(digit):
    """tonic's Denoise keeps a subset of the events, still sorted."""
    ev = emulate_events(digit, noise_rate_hz=20.0)
    out = tt.Denoise(filter_time=5_000)(ev.copy())
    assert 0 < out.size < ev.size and np.all(np.diff(out["t"]) >= 0)


def test_tonic_downsample_accepts_events(digit):
    """tonic's Downsample halves the coordinates of emulated events."""
    ev = emulate_events(digit, upsample=2)
    out = tt.Downsample(spatial_factor=0.5)(ev)
    assert_array_equal(out["x"], ev["x"] // 2)
    assert_array_equal(out["y"], ev["y"] // 2)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 60), st.integers(1, 6), st.integers(1, 5), st.integers(0, 1000))
def test_events_to_frames_counts_every_event_once(n, T, W, seed):
    """events_to_frames puts every event in exactly one bin at its pixel and polarity."""
    rng = np.random.default_rng(seed)
    H = 3
    ev = _stream(rng.integers(0, W, n), rng.integers(0, H, n), np.sort(rng.integers(0, 10_000, n)),
                 rng.integers(0, 2, n))
    frames = events_to_frames(ev, (W, H, 2), T)
    assert frames.shape == (T, 2, H, W)
    assert frames.sum() == n
    assert_array_equal(frames.sum(axis=0)[ev["p"], ev["y"], ev["x"]] > 0, True) if n else None


def test_events_to_frames_fixed_duration_bins():
    """With duration_us the bins are [0, D) split evenly: t = 0, 499, 500, 999 -> bins 0, 0, 1, 1."""
    ev = _stream([0, 0, 0, 0], [0, 0, 0, 0], [0, 499, 500, 999], [1, 1, 0, 0])
    frames = events_to_frames(ev, (1, 1, 2), 2, duration_us=1000)
    assert_array_equal(frames[:, :, 0, 0], [[0, 2], [2, 0]])


def test_events_to_frames_empty_stream_gives_zeros():
    """An empty stream gives zeros [T, P, H, W] (tonic's own ToFrame gives [T, P, W, H] here)."""
    frames = events_to_frames(np.zeros(0, dtype=EVENT_DTYPE), (5, 3, 2), 4)
    assert frames.shape == (4, 2, 3, 5) and not frames.any()


@pytest.mark.parametrize("size", [(3, 3, 2), (4, 2, 2)])
def test_events_to_frames_rejects_events_outside_sensor(size):
    """Events outside the given sensor size raise ValueError naming the sensor size."""
    ev = _stream([3], [2], [10], [1])
    with pytest.raises(ValueError, match="sensor_size"):
        events_to_frames(ev, size, 2)


@pytest.mark.parametrize("size", [(3, 3, 3), (3, 0, 2), (3,), "34x34", (3.0, 3, 2)])
def test_events_to_frames_rejects_bad_sensor_size(size):
    """Malformed sensor sizes raise ValueError."""
    with pytest.raises(ValueError, match="sensor_size"):
        events_to_frames(np.zeros(0, dtype=EVENT_DTYPE), size, 2)


def test_events_to_frames_rejects_unstructured_array():
    """A plain array instead of a structured event array raises ValueError."""
    with pytest.raises(ValueError, match="events"):
        events_to_frames(np.zeros((3, 4)), (4, 4, 2), 2)


def test_toframes_composes_with_tonic(digit):
    """ToFrames works inside tonic.transforms.Compose after Denoise."""
    ev = emulate_events(digit)
    size = emulated_sensor_size(digit.shape)
    out = tt.Compose([tt.Denoise(filter_time=10_000), ToFrames(size, 4, 300_000)])(ev)
    assert out.shape == (4, 2, size[1], size[0]) and out.sum() > 0


# ---------------------------------------------------------------- statistics
def test_event_statistics_values():
    """count, ON fraction, duration and rate of a hand-made stream."""
    ev = _stream([0, 1, 1, 0], [0, 0, 1, 1], [0, 100, 200, 1000], [1, 0, 1, 1])
    s = event_statistics(ev, (2, 2, 2))
    assert s["count"] == 4 and s["duration_us"] == 1000
    assert_allclose(s["on_fraction"], 0.75)
    assert_allclose(s["rate_hz_per_pixel"], 4 / (4 * 1e-3))


def test_event_statistics_empty_stream():
    """An empty stream has count 0 and undefined ON fraction and rate."""
    s = event_statistics(np.zeros(0, dtype=EVENT_DTYPE), (2, 2))
    assert s["count"] == 0 and np.isnan(s["on_fraction"]) and np.isnan(s["rate_hz_per_pixel"])


def test_scatter_arrays_subsample_in_time_order(digit):
    """scatter_arrays keeps at most max_events, in time order, t in ms."""
    ev = emulate_events(digit)
    s = scatter_arrays(ev, max_events=100, seed=0)
    assert s["x"].size == 100 and np.all(np.diff(s["t_ms"]) >= 0)
    assert s["t_ms"].max() <= 300.0


# ---------------------------------------------------------------- emulated digits
def test_emulated_digits_match_single_image_emulation():
    """Each sample of EmulatedDigits equals emulate_events on its image with the same settings."""
    ds = EmulatedDigits(train=False)
    x_te, y_te = load_digits_arrays("test")
    assert len(ds) == 360 and ds.sensor_size == (20, 20, 2)
    for i in (0, 17, 359):
        events, label = ds[i]
        assert label == y_te[i]
        assert_array_equal(events, emulate_events(x_te[i, 0], upsample=2))


def test_emulated_digits_with_tonic_transforms_give_frames():
    """Denoise + ToFrame give [T, 2, H, W] frames per sample."""
    T = 6
    probe = EmulatedDigits(train=False)
    transform = tt.Compose([tt.Denoise(filter_time=10_000),
                            tt.ToFrame(sensor_size=probe.sensor_size, n_time_bins=T)])
    ds = EmulatedDigits(train=False, transform=transform)
    frames, label = ds[3]
    W, H, _ = ds.sensor_size
    assert frames.shape == (T, 2, H, W) and frames.sum() > 0 and 0 <= label < 10


def test_emulated_digits_getitem_does_not_alias_cache():
    """A transform that edits events in place leaves the cached streams unchanged."""
    def clobber(ev):
        ev["p"] = 0
        return ev

    before = EmulatedDigits(train=False).events(0)
    EmulatedDigits(train=False, transform=clobber)[0]
    assert_array_equal(EmulatedDigits(train=False).events(0), before)


def test_emulated_digits_noise_differs_per_sample_and_is_seeded():
    """With noise, equal seeds give equal data sets; the noise seed depends on the sample index."""
    a = EmulatedDigits(train=False, noise_rate_hz=5.0, seed=3)
    b = EmulatedDigits(train=False, noise_rate_hz=5.0, seed=3, steps=None)
    c = EmulatedDigits(train=False, noise_rate_hz=5.0, seed=4)
    assert_array_equal(a.events(5), b.events(5))
    assert not np.array_equal(a.events(5), c.events(5))


@pytest.mark.slow
def test_emulated_digits_full_dataset_statistics():
    """All 1,797 digits emulate; every stream non-empty, ON fraction near one half."""
    tr, te = EmulatedDigits(train=True), EmulatedDigits(train=False)
    assert len(tr) + len(te) == 1797
    counts = np.array([tr.events(i).size for i in range(len(tr))])
    on = np.array([tr.events(i)["p"].mean() for i in range(len(tr))])
    assert counts.min() > 0
    assert 0.4 < on.mean() < 0.6


# ---------------------------------------------------------------- real data sets, offline
def test_nmnist_extracted_folder_reads_through_tonic(tmp_path, no_network):
    """A tiny N-MNIST in tonic's extracted layout loads with labels, events and ToFrame."""
    written = tiny_nmnist(tmp_path / "NMNIST")
    ds = load_event_dataset("nmnist", tmp_path, train=True, allow_incomplete=True)
    assert len(ds) == 4 and sorted(ds.targets) == [3, 3, 7, 7]
    for i, path in enumerate(ds.data):
        events, label = ds[i]
        exp_label, (x, y, t, p) = written[path]
        assert label == exp_label
        assert_array_equal(events["x"], x)
        assert_array_equal(events["t"], t)
        assert_array_equal(events["p"], p)
    framed = load_event_dataset("nmnist", tmp_path, allow_incomplete=True, transform=tt.ToFrame(
        sensor_size=tonic.datasets.NMNIST.sensor_size, n_time_bins=5))
    assert framed[0][0].shape == (5, 2, 34, 34)


def test_nmnist_archive_is_extracted_without_network(tmp_path, no_network):
    """test.zip placed in NMNIST/ is extracted (md5 check off for this self-made archive)."""
    src = tmp_path / "src"
    tiny_nmnist(src, folder="Test")
    (tmp_path / "NMNIST").mkdir()
    with zipfile.ZipFile(tmp_path / "NMNIST" / "test.zip", "w") as z:
        for f in sorted(src.rglob("*.bin")):
            z.write(f, f.relative_to(src).as_posix())
    ds = load_event_dataset("nmnist", tmp_path, train=False, verify_md5=False,
                            allow_incomplete=True)
    assert len(ds) == 4 and (tmp_path / "NMNIST" / "Test" / "3" / "00000.bin").is_file()


def test_nmnist_archive_with_wrong_md5_is_refused(tmp_path, no_network):
    """An archive that does not match tonic's md5 raises ValueError before extraction."""
    (tmp_path / "NMNIST").mkdir()
    with zipfile.ZipFile(tmp_path / "NMNIST" / "train.zip", "w") as z:
        z.writestr("Train/0/00000.bin", b"")
    with pytest.raises(ValueError, match="md5"):
        load_event_dataset("nmnist", tmp_path)


@pytest.mark.parametrize("name, files, folder", [
    ("nmnist", ["train.zip"], "NMNIST"),
    ("dvsgesture", ["ibmGestureTrain.tar.gz"], "DVSGesture"),
    ("cifar10dvs", ["CIFAR10DVS.zip"], "CIFAR10DVS"),
    ("shd", ["shd_train.h5.zip"], "SHD"),
])
def test_missing_dataset_names_files_and_folder(tmp_path, no_network, name, files, folder):
    """A missing data set raises FileNotFoundError naming the archive and the folder."""
    with pytest.raises(FileNotFoundError) as err:
        load_event_dataset(name, tmp_path)
    msg = str(err.value)
    assert all(f in msg for f in files)
    assert os.path.join(str(tmp_path), folder) in msg


def test_dvsgesture_extracted_folder_reads_through_tonic(tmp_path, no_network):
    """A tiny DVS Gesture (.npy per gesture, ms timestamps) loads with labels and us times."""
    d = tmp_path / "DVSGesture" / "ibmGestureTest" / "user01_fluorescent"
    d.mkdir(parents=True)
    for label in (0, 4):
        np.save(d / f"{label}.npy", np.array([[1, 2, 1, 5], [3, 4, 0, 9]], dtype=np.int64))
    ds = load_event_dataset("dvsgesture", tmp_path, train=False, allow_incomplete=True)
    assert sorted(ds.targets) == [0, 4]
    events, _ = ds[0]
    assert_array_equal(events["t"], [5000, 9000])
    assert ds.sensor_size == (128, 128, 2)


def test_shd_h5_reads_through_tonic(tmp_path, no_network):
    """A tiny SHD .h5 file loads as (t, x, p) events in microseconds."""
    h5py = pytest.importorskip("h5py")
    (tmp_path / "SHD").mkdir()
    with h5py.File(tmp_path / "SHD" / "shd_test.h5", "w") as f:
        vf, vu = h5py.vlen_dtype(np.float32), h5py.vlen_dtype(np.uint16)
        times = f.create_dataset("spikes/times", (2,), dtype=vf)
        units = f.create_dataset("spikes/units", (2,), dtype=vu)
        times[0], times[1] = np.array([0.001, 0.5], np.float32), np.array([0.25], np.float32)
        units[0], units[1] = np.array([3, 699], np.uint16), np.array([10], np.uint16)
        f["labels"] = np.array([1, 19], dtype=np.uint8)
        f["extra/keys"] = np.array([b"a", b"b"])
        f["extra/speaker"] = np.array([0, 1])
    ds = load_event_dataset("shd", tmp_path, train=False, allow_incomplete=True)
    events, label = ds[0]
    assert label == 1 and len(ds) == 2
    assert_array_equal(events["x"], [3, 699])
    assert_allclose(events["t"], [1000, 500_000], atol=1)


def test_cifar10dvs_without_aedat_names_the_package(tmp_path, no_network, monkeypatch):
    """CIFAR10-DVS files present but no `aedat` package: ImportError naming it."""
    (tmp_path / "CIFAR10DVS" / "airplane").mkdir(parents=True)
    (tmp_path / "CIFAR10DVS" / "airplane" / "0.aedat4").write_bytes(b"")
    real = TO.importlib.util.find_spec
    monkeypatch.setattr(TO.importlib.util, "find_spec",
                        lambda n, *a: None if n == "aedat" else real(n, *a))
    with pytest.raises(ImportError, match="aedat"):
        load_event_dataset("cifar10dvs", tmp_path)


def test_cifar10dvs_split_is_ninety_ten_per_class():
    """The CIFAR10-DVS split keeps the first 90 % of each class (by path) for training."""
    class Fake:
        sensor_size, classes = (128, 128, 2), {}
        data = [f"{c}/{i:04d}.aedat4" for c in ("b", "a") for i in range(20)]
        targets = [1] * 20 + [0] * 20

        def __getitem__(self, i):
            return self.data[i], self.targets[i]

    tr, te = TO._cifar10dvs_split(Fake(), True), TO._cifar10dvs_split(Fake(), False)
    assert len(tr) == 36 and len(te) == 4
    assert [te[i][0] for i in range(4)] == ["a/0018.aedat4", "a/0019.aedat4",
                                            "b/0018.aedat4", "b/0019.aedat4"]


def test_unknown_dataset_lists_names():
    """An unknown name raises ValueError listing every known name."""
    with pytest.raises(ValueError) as err:
        load_event_dataset("mnist-dvs", "/nonexistent")
    assert all(n in str(err.value) for n in DATASET_NAMES)


def test_real_dataset_needs_data_dir():
    """A real data set without data_dir raises ValueError naming data_dir."""
    with pytest.raises(ValueError, match="data_dir"):
        load_event_dataset("nmnist")


def test_emulated_digits_by_name():
    """load_event_dataset('emulated_digits') is the emulated test split."""
    ds = load_event_dataset("emulated_digits", train=False)
    assert isinstance(ds, EmulatedDigits) and len(ds) == 360
