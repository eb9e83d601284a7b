"""Tests of qsnn.data.event_sets and the event data sets in the registry of qsnn.data: options,
descriptions, frames of the emulated digits and of recorded data written in their real formats."""

import numpy as np
import pytest
import tonic.transforms as tt
import torch
from numpy.testing import assert_array_equal

import qsnn.data as qd
from _event_files import no_network, tiny_cifar10dvs, tiny_dvsgesture, tiny_nmnist  # noqa: F401 (a fixture)
from qsnn.data import DatasetNotFoundError, check_dataset_kwargs, get_loaders, load_dataset
from qsnn.data.event_sets import (
    EVENT_DATASET_NAMES,
    EVENT_DATASET_OPTIONS,
    EventFrames,
    check_event_options,
    event_dataset_info,
    frame_transform,
)
from qsnn.data.events import EmulatedDigits, ToFrames

# The tiny recorded sets written by the tests hold a few samples of each split on purpose.
PART = {"allow_incomplete": True}

# ---------------------------------------------------------------- options and descriptions


def test_every_event_set_is_registered():
    """emulated_digits, nmnist, dvsgesture and cifar10dvs are names of the data registry."""
    assert set(EVENT_DATASET_NAMES) == {"emulated_digits", "nmnist", "dvsgesture", "cifar10dvs"}
    assert set(EVENT_DATASET_NAMES) <= set(qd.DATASETS)
    assert all(qd.dataset_info(n).temporal for n in EVENT_DATASET_NAMES)


def test_options_are_filled_with_defaults():
    """No options give every default; YAML lists become tuples."""
    opts = check_event_options("emulated_digits", {"sensor_size": [24, 22]})
    assert set(opts) == set(EVENT_DATASET_OPTIONS["emulated_digits"])
    assert opts["contrast_threshold"] == 0.15 and opts["sensor_size"] == (24, 22)
    assert check_event_options("cifar10dvs", {"frame_size": 48})["frame_size"] == (48, 48)


def test_unknown_option_lists_allowed_keys():
    """An unknown key raises ValueError naming it and every allowed key."""
    with pytest.raises(ValueError) as err:
        check_event_options("nmnist", {"contrast": 0.2})
    assert "contrast" in str(err.value)
    assert all(k in str(err.value) for k in EVENT_DATASET_OPTIONS["nmnist"])


@pytest.mark.parametrize("name, kw, match", [
    ("emulated_digits", {"contrast_threshold": 0}, "contrast_threshold"),
    ("emulated_digits", {"duration_us": 2.5}, "duration_us"),
    ("emulated_digits", {"steps": 10, "duration_us": 5}, "steps"),
    ("emulated_digits", {"path": "zigzag"}, "path"),
    ("emulated_digits", {"sensor_size": (20, 20, 3)}, "sensor_size"),
    ("emulated_digits", {"split_seed": -1}, "split_seed"),
    ("emulated_digits", {"emulator_seed": "a"}, "seed"),
    ("emulated_digits", {"denoise_us": 0}, "denoise_us"),
    ("cifar10dvs", {"frame_size": 0}, "frame_size"),
    ("cifar10dvs", {"frame_size": (48, 48, 2)}, "frame_size"),
    ("dvsgesture", {"verify_md5": "yes"}, "verify_md5"),
    ("nmnist", {"first_saccade_only": 1}, "first_saccade_only"),
])
def test_bad_option_values_raise(name, kw, match):
    """An invalid option value raises ValueError naming the option."""
    with pytest.raises(ValueError, match=match):
        check_event_options(name, kw)


def test_static_sets_take_only_subset_options():
    """Static sets take only the stratified-subset options (completed with defaults); others raise."""
    assert check_dataset_kwargs("digits", {}) == {"train_per_class": None, "test_per_class": None}
    assert check_dataset_kwargs("digits", {"train_per_class": 5})["train_per_class"] == 5
    with pytest.raises(ValueError, match="dataset_kwargs"):
        check_dataset_kwargs("digits", {"upsample": 2})


def test_info_follows_options():
    """Frame size follows upsample / sensor_size / frame_size; classes and channels per set."""
    assert event_dataset_info("emulated_digits").input_size == (20, 20)
    assert event_dataset_info("emulated_digits", {"upsample": 1}).input_size == (10, 10)
    assert event_dataset_info("emulated_digits", {"sensor_size": (30, 24)}).input_size == (24, 30)
    info = qd.dataset_info("cifar10dvs", {"frame_size": 48})
    assert (info.num_classes, info.in_channels, info.input_size) == (10, 2, (48, 48))
    assert qd.dataset_info("dvsgesture").num_classes == 11
    assert qd.dataset_info("nmnist").input_size == (34, 34)


# ---------------------------------------------------------------- emulated digits as frames


def test_emulated_frames_count_every_event_in_fixed_bins():
    """Each sample's frames [T, 2, H, W] are ToFrames over [0, duration) of its event stream."""
    ds = load_dataset("emulated_digits", split="test", time_steps=5)
    raw = EmulatedDigits(train=False)
    assert len(ds) == 360
    for i in (0, 123, 359):
        x, y = ds[i]
        assert x.dtype == torch.float32 and tuple(x.shape) == (5, 2, 20, 20)
        assert y == int(raw.targets[i])
        expected = ToFrames(raw.sensor_size, 5, raw.duration_us)(raw.events(i))
        assert_array_equal(x.numpy(), expected)
        assert x.sum().item() == raw.events(i).size


def test_emulated_frames_need_time_steps():
    """An event set loaded without time_steps raises ValueError naming time_steps."""
    with pytest.raises(ValueError, match="time_steps"):
        load_dataset("emulated_digits", split="test")


def test_emulator_seed_defaults_to_the_run_seed():
    """With background noise, the run's seed sets the noise unless emulator_seed fixes it."""
    kw = {"noise_rate_hz": 2.0}
    a = load_dataset("emulated_digits", split="test", time_steps=2, seed=1, dataset_kwargs=kw)
    b = load_dataset("emulated_digits", split="test", time_steps=2, seed=2, dataset_kwargs=kw)
    assert not torch.equal(a[0][0], b[0][0])
    fixed = {**kw, "emulator_seed": 7}
    c = load_dataset("emulated_digits", split="test", time_steps=2, seed=1, dataset_kwargs=fixed)
    d = load_dataset("emulated_digits", split="test", time_steps=2, seed=2, dataset_kwargs=fixed)
    assert torch.equal(c[0][0], d[0][0])


def test_denoise_is_tonics_filter_before_the_frames():
    """denoise_us applies tonic's Denoise, removing isolated noise events, then bins."""
    kw = {"noise_rate_hz": 5.0, "emulator_seed": 0}
    noisy = load_dataset("emulated_digits", split="test", time_steps=3, dataset_kwargs=kw)
    clean = load_dataset("emulated_digits", split="test", time_steps=3,
                         dataset_kwargs={**kw, "denoise_us": 20_000})
    raw = EmulatedDigits(train=False, noise_rate_hz=5.0, seed=0)
    expected = ToFrames(raw.sensor_size, 3, raw.duration_us)(
        tt.Denoise(filter_time=20_000)(raw.events(4)))
    assert_array_equal(clean[4][0].numpy(), expected)
    assert clean[4][0].sum() < noisy[4][0].sum()


def test_emulated_loaders_give_temporal_batches():
    """get_loaders yields [B, T, 2, H, W] batches and describes the frames in info."""
    loaders = get_loaders("emulated_digits", batch_size=16, time_steps=4,
                          dataset_kwargs={"upsample": 1})
    x, y = next(iter(loaders.train))
    assert tuple(x.shape) == (16, 4, 2, 10, 10) and y.shape == (16,)
    assert loaders.info.temporal and loaders.info.input_size == (10, 10)
    assert len(loaders.train.dataset) == 1437 and len(loaders.test.dataset) == 360


# ---------------------------------------------------------------- frames: pieces


def test_frame_transform_with_empty_stream_gives_zeros():
    """A stream the filter empties (or an empty one) gives zero frames, not an error."""
    from qsnn.data.events import EVENT_DTYPE

    f = frame_transform((6, 5, 2), 3, duration_us=100, denoise_us=10)
    assert_array_equal(f(np.zeros(0, dtype=EVENT_DTYPE)), np.zeros((3, 2, 5, 6), np.float32))


def test_resize_keeps_a_constant_frame_constant():
    """Resizing (bilinear, antialiased) maps a constant frame to the same constant."""
    class Const:
        def __len__(self):
            return 1

        def __getitem__(self, i):
            return None, 3

    ds = EventFrames(Const(), lambda _: np.full((2, 2, 128, 128), 2.0, np.float32), (48, 48))
    x, y = ds[0]
    assert tuple(x.shape) == (2, 2, 48, 48) and y == 3
    torch.testing.assert_close(x, torch.full((2, 2, 48, 48), 2.0))


def test_event_frames_rejects_non_callable_transform():
    """EventFrames with a transform that is not callable raises ValueError."""
    with pytest.raises(ValueError, match="transform"):
        EventFrames([], transform=3)


# ---------------------------------------------------------------- recorded data on disk


def test_nmnist_frames_from_real_format(tmp_path, no_network):
    """A tiny N-MNIST in its on-disk format loads as frames holding every event, with labels."""
    written = tiny_nmnist(tmp_path / "NMNIST")
    ds = load_dataset("nmnist", tmp_path, "train", time_steps=3, dataset_kwargs=PART)
    assert len(ds) == 4
    labels = sorted(ds[i][1] for i in range(4))
    assert labels == [3, 3, 7, 7]
    x, _ = ds[0]
    assert tuple(x.shape) == (3, 2, 34, 34)
    assert x.sum().item() == 50 == len(next(iter(written.values()))[1][0])


def test_nmnist_trains_through_get_loaders(tmp_path, no_network):
    """get_loaders on a recorded set gives [B, T, 2, H', W'] batches after frame_size."""
    tiny_nmnist(tmp_path / "NMNIST", folder="Train")
    tiny_nmnist(tmp_path / "NMNIST", folder="Test", seed=1)
    loaders = get_loaders("nmnist", tmp_path, batch_size=4, time_steps=2,
                          dataset_kwargs={"frame_size": 16, **PART})
    x, y = next(iter(loaders.train))
    assert tuple(x.shape) == (4, 2, 2, 16, 16) and loaders.info.input_size == (16, 16)


def test_dvsgesture_frames_resized_to_48(tmp_path, no_network):
    """DVS Gesture (128x128) frames resize to 48x48 as in the VGGSNN recipe."""
    tiny_dvsgesture(tmp_path / "DVSGesture")
    ds = load_dataset("dvsgesture", tmp_path, "test", time_steps=10,
                      dataset_kwargs={"frame_size": 48, **PART})
    x, y = ds[0]
    assert tuple(x.shape) == (10, 2, 48, 48) and y in (0, 4)
    full = load_dataset("dvsgesture", tmp_path, "test", time_steps=10, dataset_kwargs=PART)[0][0]
    assert full.sum().item() == 200
    # antialiased bilinear downsampling averages: the total shrinks by about the area ratio
    assert 0.5 < x.sum().item() / (200 * (48 / 128) ** 2) < 2.0


def test_cifar10dvs_from_aedat4_files_trains_at_48x48(tmp_path, no_network):
    """CIFAR10-DVS written as AEDAT 4 files: 90/10 split per class, T = 10 frames of 2x48x48."""
    pytest.importorskip("aedat")
    written = tiny_cifar10dvs(tmp_path / "CIFAR10DVS")
    full = load_dataset("cifar10dvs", tmp_path, "test", time_steps=10, dataset_kwargs=PART)
    assert len(full) == 2  # one of ten recordings per class is held out
    for i in range(len(full)):
        x, y = full[i]
        assert tuple(x.shape) == (10, 2, 128, 128) and y in (0, 9)  # airplane, truck
        assert x.sum().item() == 100
    t, xs, ys, on = written[full.events.dataset.data[int(full.events.indices[0])]]
    expected = ToFrames((128, 128, 2), 10)(np.rec.fromarrays([xs, ys, t, on], names="x,y,t,p"))
    assert_array_equal(full[0][0].numpy(), expected)
    loaders = get_loaders("cifar10dvs", tmp_path, batch_size=6, time_steps=10,
                          dataset_kwargs={"frame_size": 48, **PART})
    x, y = next(iter(loaders.train))
    assert len(loaders.train.dataset) == 18 and tuple(x.shape) == (6, 10, 2, 48, 48)
    assert loaders.info.input_size == (48, 48)


@pytest.mark.parametrize("name, archive, folder", [
    ("nmnist", "train.zip", "NMNIST"),
    ("dvsgesture", "ibmGestureTrain.tar.gz", "DVSGesture"),
    ("cifar10dvs", "CIFAR10DVS.zip", "CIFAR10DVS"),
])
def test_missing_recorded_set_raises_dataset_not_found(tmp_path, no_network, name, archive, folder):
    """A missing recorded set raises DatasetNotFoundError naming the archive and the folder."""
    with pytest.raises(DatasetNotFoundError) as err:
        get_loaders(name, tmp_path, batch_size=2, time_steps=2)
    assert archive in str(err.value) and folder in str(err.value)


def test_recorded_frames_pickle_for_loader_workers(tmp_path, no_network):
    """A recorded set's frames data set pickles (workers started by spawn/forkserver need it)."""
    import pickle

    tiny_nmnist(tmp_path / "NMNIST")
    ds = load_dataset("nmnist", tmp_path, "train", time_steps=2, dataset_kwargs=PART)
    again = pickle.loads(pickle.dumps(ds))
    assert len(again) == 4 and torch.equal(again[1][0], ds[1][0])


# ---------------------------------------------------------------- incomplete recorded sets


def test_partial_nmnist_is_refused_naming_what_is_missing(tmp_path, no_network):
    """An N-MNIST folder with 4 of 60,000 training files (an interrupted extraction) is refused:
    the message names the counts per digit and how to recover."""
    tiny_nmnist(tmp_path / "NMNIST")
    with pytest.raises(qd.DatasetIncompleteError) as err:
        load_dataset("nmnist", tmp_path, "train", time_steps=2)
    msg = str(err.value)
    assert "4 of 60000 training samples" in msg and "digit 3: 2 of 6131" in msg
    assert str(tmp_path / "NMNIST") in msg and "allow_incomplete" in msg
    assert isinstance(err.value, DatasetNotFoundError)


def test_partial_dvsgesture_is_refused(tmp_path, no_network):
    """DVS Gesture with 2 of its 264 test recordings is refused with the counts."""
    tiny_dvsgesture(tmp_path / "DVSGesture")
    with pytest.raises(qd.DatasetIncompleteError, match="2 of 264 test samples"):
        load_dataset("dvsgesture", tmp_path, "test", time_steps=2)


def test_partial_cifar10dvs_is_refused_per_class(tmp_path, no_network):
    """CIFAR10-DVS with 10 recordings in two class folders is refused, naming the classes."""
    pytest.importorskip("aedat")
    tiny_cifar10dvs(tmp_path / "CIFAR10DVS")
    with pytest.raises(qd.DatasetIncompleteError) as err:
        load_dataset("cifar10dvs", tmp_path, "train", time_steps=2)
    assert "20 of 10000 recordings" in str(err.value) and "airplane: 10 of 1000" in str(err.value)
    assert "bird: 0 of 1000" in str(err.value)


def test_complete_split_is_accepted(tmp_path, no_network, monkeypatch):
    """A split with as many samples as the complete set (here: the sizes made small) loads."""
    from qsnn.data import tonic_offline

    tiny_dvsgesture(tmp_path / "DVSGesture")
    monkeypatch.setitem(tonic_offline.RECORDED_SIZES, "dvsgesture", {"train": 1077, "test": 2})
    assert len(load_dataset("dvsgesture", tmp_path, "test", time_steps=2)) == 2


def test_allow_incomplete_must_be_a_bool():
    """allow_incomplete is checked like every option."""
    with pytest.raises(ValueError, match="allow_incomplete"):
        check_dataset_kwargs("nmnist", {"allow_incomplete": "yes"})
    assert check_dataset_kwargs("nmnist", None)["allow_incomplete"] is False
