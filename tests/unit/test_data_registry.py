"""Tests of the data-set registry (every record complete and consistent), Fashion-MNIST (from IDX
files the test writes, and from the real files where `make data` fetched them), the in-memory
loaders against the DataLoader they replace, and the caches (never a shared mutable result)."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import qsnn.data as qd
from qsnn.data import event_sets, vision
from qsnn.data.emulated_digits import STREAM_CACHE, EmulatedDigits
from qsnn.data.loaders import TensorBatches

REPO = Path(__file__).resolve().parents[2]

# ----------------------------------------------------------------------------------------------
# registry


@pytest.mark.parametrize("name", qd.DATASETS)
def test_every_record_is_complete_and_consistent(name):
    """Each record: its name, classes with one name each, per-channel normalisation, positive
    split sizes, a source, one loader of the right kind, options that are its defaults."""
    rec = qd.dataset_record(name)
    info = rec.info
    assert rec is qd.REGISTRY[name] and rec.name == info.name == name
    assert info.num_classes >= 2 and len(info.class_names) == info.num_classes
    assert len(set(info.class_names)) == info.num_classes and all(info.class_names)
    assert len(info.input_size) == 2 and all(s > 0 for s in info.input_size) and info.in_channels > 0
    assert len(info.mean) == len(info.std) == (1 if info.temporal else info.in_channels)
    assert all(s > 0 for s in info.std)
    assert set(rec.split_sizes) == {"train", "test"} and all(n > 0 for n in rec.split_sizes.values())
    assert rec.source.strip()
    assert qd.dataset_info(name) == info == rec.describe(None)
    if info.temporal:
        assert rec.load_frames is not None and rec.load_arrays is None
        assert dict(rec.options) == event_sets.EVENT_DATASET_OPTIONS[name]
        assert qd.check_dataset_kwargs(name, None) == event_sets.check_event_options(name, None)
    else:
        assert rec.load_arrays is not None and rec.load_frames is None
        assert dict(rec.options) == dict(qd.STATIC_OPTIONS) == {"train_per_class": None, "test_per_class": None}
        assert qd.check_dataset_kwargs(name, None) == dict(qd.STATIC_OPTIONS)
    assert info.has_augmentation == (name in ("cifar10", "cifar100"))


def test_records_cannot_be_changed():
    """The registry and its records are read-only: no caller can change what another sees."""
    with pytest.raises(TypeError):
        qd.REGISTRY["x"] = qd.REGISTRY["digits"]
    with pytest.raises(Exception):
        qd.REGISTRY["digits"].info.num_classes = 3
    with pytest.raises(TypeError):
        qd.REGISTRY["emulated_digits"].options["upsample"] = 5


@pytest.mark.parametrize("name", ["digits", "emulated_digits"])
def test_split_sizes_are_those_loaded(name):
    """The sizes a record states are the sizes of the splits it loads."""
    rec = qd.dataset_record(name)
    for split, n in rec.split_sizes.items():
        assert len(qd.load_dataset(name, split=split, time_steps=2)) == n


def test_event_class_names_are_tonics():
    """The class names of the recorded sets are those of tonic's classes."""
    import tonic.datasets as td

    assert qd.dataset_info("dvsgesture").class_names == tuple(td.DVSGesture.classes)
    assert qd.dataset_info("cifar10dvs").class_names == tuple(td.CIFAR10DVS.classes)
    assert qd.dataset_info("cifar10").class_names == qd.dataset_info("cifar10dvs").class_names


def test_emulator_defaults_are_written_once():
    """emulate_events, EmulatedDigits and the emulated_digits options share one set of defaults."""
    import inspect

    from qsnn.data.emulator import EMULATOR_DEFAULTS, emulate_events

    params = inspect.signature(emulate_events).parameters
    digits = inspect.signature(EmulatedDigits).parameters
    opts = event_sets.EVENT_DATASET_OPTIONS["emulated_digits"]
    for key, value in EMULATOR_DEFAULTS.items():
        assert params[key].default == value
        expected = 2.0 if key == "upsample" else value
        assert digits[key].default == expected and opts[key] == expected


# ----------------------------------------------------------------------------------------------
# Fashion-MNIST


def _write_idx_gz(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.tobytes())


def _tiny_fashion(folder, n_train=12, n_test=5):
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        img = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        lab = rng.integers(0, 10, size=n, dtype=np.uint8)
        _write_idx_gz(folder / f"{prefix}-images-idx3-ubyte.gz", img)
        _write_idx_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", lab)
        arrays[prefix] = (img, lab)
    return arrays


def test_per_class_subsets_keep_the_first_images_of_every_class_in_file_order(tmp_path):
    """train_per_class / test_per_class = n keep the first n images of each class, in file order; a class with
    fewer keeps all of its images; the other split is untouched."""
    arrays = _tiny_fashion(tmp_path / "fashion-mnist", n_train=60, n_test=30)
    img, lab = arrays["train"]
    ds = qd.load_dataset("fashion_mnist", tmp_path, "train", dataset_kwargs={"train_per_class": 2})
    expect = [i for i in range(60) if sum(lab[:i] == lab[i]) < 2]  # by the definition, one index at a time
    assert len(ds) == len(expect)
    for k, i in enumerate(expect):
        x, y = ds[k]
        assert y == int(lab[i])
        np.testing.assert_allclose(x[0].numpy(), (img[i] / 255.0 - 0.2860) / 0.3530, rtol=1e-5, atol=1e-6)
    assert len(qd.load_dataset("fashion_mnist", tmp_path, "test", dataset_kwargs={"train_per_class": 2})) == 30
    test = qd.load_dataset("fashion_mnist", tmp_path, "test", dataset_kwargs={"test_per_class": 100})
    assert len(test) == 30  # every class has fewer than 100: all kept
    digits = qd.load_dataset("digits", split="train", dataset_kwargs={"train_per_class": 5})
    counts = np.bincount([int(digits[i][1]) for i in range(len(digits))], minlength=10)
    assert counts.tolist() == [5] * 10


@pytest.mark.parametrize("options, match", [
    ({"train_size": 5}, "unknown keys train_size for 'digits'; allowed: train_per_class, test_per_class"),
    ({"train_per_class": 0}, r"dataset_kwargs\['train_per_class'\] must be"),
    ({"test_per_class": 2.5}, r"dataset_kwargs\['test_per_class'\] must be"),
    ({"test_per_class": True}, r"dataset_kwargs\['test_per_class'\] must be"),
    ([("train_per_class", 3)], "must be a mapping"),
])
def test_static_options_are_checked(options, match):
    with pytest.raises(ValueError, match=match):
        qd.check_dataset_kwargs("digits", options)
    with pytest.raises(ValueError, match=match):
        qd.load_dataset("digits", split="train", dataset_kwargs=options)


@pytest.mark.parametrize("layout", ["fashion-mnist", "FashionMNIST/raw", "usr/share/datasets/fashion-mnist", "."])
def test_fashion_mnist_from_idx_files(tmp_path, layout):
    """fashion_mnist reads the four IDX .gz files in each documented layout and normalises them
    with its own mean and standard deviation."""
    arrays = _tiny_fashion(tmp_path / layout)
    ds = qd.load_dataset("fashion_mnist", tmp_path, "train")
    assert len(ds) == 12
    img, lab = arrays["train"]
    for i in (0, 7, 11):
        x, y = ds[i]
        expected = (img[i] / 255.0 - 0.2860) / 0.3530
        np.testing.assert_allclose(x[0].numpy(), expected, rtol=1e-5, atol=1e-6)
        assert y == int(lab[i])
    info = qd.dataset_info("fashion_mnist")
    assert info.class_names[0] == "T-shirt/top" and info.class_names[9] == "Ankle boot"
    assert info.mean != qd.dataset_info("mnist").mean


def test_fashion_mnist_missing_names_files_and_folders(tmp_path, monkeypatch):
    """Without the files the message names the four files, the folders and where to get them."""
    monkeypatch.setattr(vision, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "no-debian")
    with pytest.raises(qd.DatasetNotFoundError) as err:
        qd.load_dataset("fashion_mnist", tmp_path)
    msg = str(err.value)
    for part in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", str(tmp_path / "fashion-mnist"),
                 "zalandoresearch/fashion-mnist", "make data"):
        assert part in msg


def _real_fashion_dir():
    for folder in vision.fashion_mnist_folders(REPO / "data"):
        if all((folder / f"{p}-{k}-idx{d}-ubyte.gz").is_file()
               for p in ("train", "t10k") for k, d in (("images", 3), ("labels", 1))):
            return folder
    return None


@pytest.mark.skipif(_real_fashion_dir() is None,
                    reason="Fashion-MNIST's IDX files are absent (run `make data` to fetch them)")
def test_real_fashion_mnist_sizes_histogram_and_normalisation():
    """The real files: 60,000 / 10,000 images, 6,000 / 1,000 per class, and the registry's mean
    and standard deviation are those of the training pixels."""
    data_dir = REPO / "data"
    x, y = vision.load_fashion_mnist_arrays(data_dir, "train")
    xt, yt = vision.load_fashion_mnist_arrays(data_dir, "test")
    assert x.shape == (60_000, 1, 28, 28) and xt.shape == (10_000, 1, 28, 28)
    assert np.bincount(y, minlength=10).tolist() == [6_000] * 10
    assert np.bincount(yt, minlength=10).tolist() == [1_000] * 10
    pixels = x.astype(np.float64) / 255.0
    info = qd.dataset_info("fashion_mnist")
    assert abs(pixels.mean() - info.mean[0]) < 5e-5 and abs(pixels.std() - info.std[0]) < 5e-5
    loaders = qd.get_loaders("fashion_mnist", data_dir, batch_size=64)
    assert loaders.sample_counts == dict(qd.dataset_record("fashion_mnist").split_sizes)


# ----------------------------------------------------------------------------------------------
# loaders held in memory


def _reference_loader(fast):
    """The DataLoader the in-memory loader replaces: same data set, same sampler."""
    return DataLoader(fast.dataset, batch_size=fast.batch_size, sampler=fast.sampler)


@pytest.mark.parametrize("world_size", [1, 3])
def test_tensor_batches_equal_the_dataloader(world_size):
    """Every batch of the in-memory loader equals the DataLoader's, epoch after epoch and on
    every rank (the batches chapters were trained with)."""
    for rank in range(world_size):
        loaders = qd.get_loaders("digits", batch_size=50, seed=4, rank=rank, world_size=world_size,
                                 eval_batch_size=70)
        assert isinstance(loaders.train, TensorBatches) and isinstance(loaders.test, TensorBatches)
        for loader in (loaders.train, loaders.test):
            for epoch in (0, 1, 5):
                qd.set_epoch(loader, epoch)
                fast, ref = list(loader), list(_reference_loader(loader))
                assert len(fast) == len(ref) == len(loader)
                for (xa, ya), (xb, yb) in zip(fast, ref, strict=True):
                    assert xa.dtype == xb.dtype and ya.dtype == yb.dtype
                    assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_emulated_digits_are_batched_in_memory_and_equal_the_dataloader():
    """The emulated digits' frames are held as one tensor and batched like a DataLoader."""
    loaders = qd.get_loaders("emulated_digits", batch_size=64, time_steps=3,
                             dataset_kwargs={"upsample": 1})
    assert isinstance(loaders.train, TensorBatches)
    qd.set_epoch(loaders.train, 2)
    for (xa, ya), (xb, yb) in zip(loaders.train, _reference_loader(loaders.train), strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_augmented_sets_keep_the_dataloader(tmp_path):
    """A split with per-epoch augmentation is not frozen into a tensor."""
    ds = qd.load_dataset("digits")
    assert ds.tensors() is not None
    assert qd.ImageDataset(np.zeros((2, 3, 4, 4), np.uint8), np.zeros(2), qd.dataset_info("cifar10"),
                           augment=True).tensors() is None


def test_sample_counts_per_split():
    """Loaders.sample_counts gives the size of each whole split (not the rank's shard)."""
    loaders = qd.get_loaders("digits", batch_size=8, rank=1, world_size=2)
    assert loaders.sample_counts == {"train": 1437, "test": 360}


# ----------------------------------------------------------------------------------------------
# caches


def test_loaded_sets_do_not_share_mutable_data():
    """Changing a loaded sample or a batch changes nothing another caller receives."""
    a, b = qd.load_dataset("digits", split="test"), qd.load_dataset("digits", split="test")
    before = b[0][0].clone()
    a[0][0].add_(100.0)
    a.tensors()[0][0].add_(100.0)
    assert torch.equal(b[0][0], before)
    ea = qd.load_dataset("emulated_digits", split="test", time_steps=2)
    eb = qd.load_dataset("emulated_digits", split="test", time_steps=2)
    frames = eb[3][0].clone()
    ea.tensors()[0][3].add_(1.0)
    ea[3][0].add_(1.0)
    assert torch.equal(eb[3][0], frames)


def test_cached_streams_are_read_only_and_clearable():
    """Emulated streams are cached read-only; clear_caches empties every cache."""
    ds = EmulatedDigits(train=False, upsample=1)
    stream = ds._events[0]
    with pytest.raises(ValueError):
        stream["x"][0] = 5
    with pytest.raises(ValueError):
        ds.targets[0] = 3
    assert len(STREAM_CACHE) >= 1
    qd.clear_caches()
    assert len(STREAM_CACHE) == 0 and len(event_sets.FRAME_CACHE) == 0
    again = EmulatedDigits(train=False, upsample=1)
    np.testing.assert_array_equal(again.events(0), stream)


def test_a_changed_file_is_read_again(tmp_path):
    """The IDX cache is keyed by the files' size and time: rewritten files are read anew."""
    import os

    _tiny_fashion(tmp_path)
    first = qd.load_dataset("fashion_mnist", tmp_path, "test")[0][0]
    arrays = _tiny_fashion(tmp_path, n_test=6)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    ds = qd.load_dataset("fashion_mnist", tmp_path, "test")
    assert len(ds) == 6 and first.shape == ds[0][0].shape
    np.testing.assert_allclose(ds[5][0][0].numpy(), (arrays["t10k"][0][5] / 255.0 - 0.2860) / 0.3530,
                               rtol=1e-5, atol=1e-6)
