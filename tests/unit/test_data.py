"""Tests of qsnn.data: digits split, IDX and CIFAR readers on tiny files in the real formats,
missing-file messages, seeded augmentation, epoch-deterministic loaders, time layout."""

import gzip
import pickle

import numpy as np
import pytest
import torch

import qsnn.data as qd
from qsnn.data import (
    DatasetNotFoundError,
    ShardSampler,
    crop_flip,
    get_loaders,
    load_dataset,
    repeat_time,
    set_epoch,
    to_time_first,
)
from qsnn.data.digits import load_digits_arrays
from qsnn.data.vision import load_cifar_arrays, load_mnist_arrays, read_idx, safe_unpickle

# ----------------------------------------------------------------------------------------------
# digits


def test_digits_split_sizes_and_range():
    """The digits split has 1,437 / 360 images of 1x8x8 in [0, 1] and labels 0..9."""
    xtr, ytr = load_digits_arrays("train")
    xte, yte = load_digits_arrays("test")
    assert xtr.shape == (1437, 1, 8, 8) and xte.shape == (360, 1, 8, 8)
    assert ytr.shape == (1437,) and yte.shape == (360,)
    assert xtr.min() == 0.0 and xtr.max() == 1.0 and xtr.dtype == np.float32
    assert set(np.unique(yte)) == set(range(10))


def test_digits_split_is_stratified():
    """Every class is represented in the test split in proportion (36 +- 1 of 360)."""
    _, yte = load_digits_arrays("test")
    counts = np.bincount(yte, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37


def test_digits_split_is_deterministic_and_covers_the_set():
    """Two loads give identical splits, and train + test is the whole data set."""
    from sklearn.datasets import load_digits

    a, b = load_digits_arrays("test"), load_digits_arrays("test")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    xtr, _ = load_digits_arrays("train")
    whole = np.concatenate([xtr, a[0]]).reshape(1797, 64) * 16
    ref = load_digits().data
    key = lambda m: m[np.lexsort(m.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(key(whole), key(ref))


# ----------------------------------------------------------------------------------------------
# time layout


def test_repeat_time_repeats_frames():
    """repeat_time gives [T, B, ...] with every step equal to the input."""
    x = torch.randn(3, 1, 4, 4)
    y = repeat_time(x, 5)
    assert y.shape == (5, 3, 1, 4, 4) and y.is_contiguous()
    for t in range(5):
        assert torch.equal(y[t], x)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_repeat_time_rejects_bad_T(bad):
    """repeat_time rejects T that is not an integer >= 1."""
    with pytest.raises(ValueError, match="time_steps must be an integer"):
        repeat_time(torch.zeros(2, 1, 2, 2), bad)


def test_to_time_first_transposes_temporal_batches():
    """A temporal batch [B, T, C, H, W] becomes [T, B, C, H, W]."""
    x = torch.randn(2, 3, 2, 4, 4)
    y = to_time_first(x, 3)
    assert y.shape == (3, 2, 2, 4, 4)
    assert torch.equal(y[1, 0], x[0, 1])


def test_to_time_first_rejects_mismatched_T_and_shapes():
    """A temporal batch with another T, or a batch of the wrong rank, raises ValueError."""
    with pytest.raises(ValueError, match="3 time steps"):
        to_time_first(torch.zeros(2, 3, 1, 4, 4), 4)
    with pytest.raises(ValueError, match="got shape"):
        to_time_first(torch.zeros(2, 4, 4), 4)


# ----------------------------------------------------------------------------------------------
# MNIST (IDX)


def _write_idx(path, array, compress):
    codes = {np.uint8: 0x08}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.tobytes()
    (gzip.open if compress else open)(path, "wb").write(data)


def _tiny_mnist(folder, compress, n_train=5, n_test=3):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        img = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        lab = rng.integers(0, 10, size=n, dtype=np.uint8)
        sfx = ".gz" if compress else ""
        _write_idx(folder / f"{prefix}-images-idx3-ubyte{sfx}", img, compress)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte{sfx}", lab, compress)
        arrays[prefix] = (img, lab)
    return arrays


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_reader_reads_idx_files(tmp_path, compress):
    """MNIST IDX files (gzip or raw, in MNIST/raw) are read back exactly."""
    arrays = _tiny_mnist(tmp_path / "MNIST" / "raw", compress)
    x, y = load_mnist_arrays(tmp_path, "test")
    np.testing.assert_array_equal(x[:, 0], arrays["t10k"][0])
    np.testing.assert_array_equal(y, arrays["t10k"][1])
    assert x.shape == (3, 1, 28, 28) and y.dtype == np.int64


def test_mnist_dataset_normalises(tmp_path):
    """load_dataset('mnist') scales to [0, 1] and applies mean 0.1307, std 0.3081."""
    arrays = _tiny_mnist(tmp_path, compress=False)
    ds = load_dataset("mnist", tmp_path, "train")
    x, y = ds[2]
    expected = (arrays["train"][0][2] / 255.0 - 0.1307) / 0.3081
    np.testing.assert_allclose(x[0].numpy(), expected, rtol=1e-5, atol=1e-6)
    assert y == int(arrays["train"][1][2])


def test_read_idx_rejects_truncated_file(tmp_path):
    """An IDX file shorter than its header announces raises ValueError."""
    path = tmp_path / "x-idx1-ubyte"
    _write_idx(path, np.arange(10, dtype=np.uint8), compress=False)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="holds 7"):
        read_idx(path)


def test_mnist_missing_message_names_files(tmp_path):
    """A missing MNIST folder names all four IDX files and both folders searched."""
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("mnist", tmp_path)
    msg = str(err.value)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte", str(tmp_path / "MNIST" / "raw")):
        assert name in msg
    assert isinstance(err.value, FileNotFoundError)


# ----------------------------------------------------------------------------------------------
# CIFAR (pickled batches)


def _cifar_batch(rng, n, label_key, classes):
    return {
        b"batch_label": b"tiny",
        label_key: [int(v) for v in rng.integers(0, classes, size=n)],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [b"f%d.png" % i for i in range(n)],
    }


def _tiny_cifar10(root, protocol=2):
    rng = np.random.default_rng(1)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = _cifar_batch(rng, 2, b"labels", 10)
        pickle.dump(batches[name], open(folder / name, "wb"), protocol=protocol)
    meta = {b"label_names": [b"c%d" % i for i in range(10)], b"num_vis": 3072}
    pickle.dump(meta, open(folder / "batches.meta", "wb"), protocol=protocol)
    return folder, batches


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar10_reader_reads_batches(tmp_path, protocol):
    """CIFAR-10 batches (pickled dicts with b'data', b'labels') are read in order, as [N,3,32,32]."""
    _, batches = _tiny_cifar10(tmp_path, protocol)
    x, y, names = load_cifar_arrays(tmp_path, "train", 10)
    assert x.shape == (10, 3, 32, 32) and y.shape == (10,)
    np.testing.assert_array_equal(x[2].reshape(-1), batches["data_batch_2"][b"data"][0])
    assert y[3] == batches["data_batch_2"][b"labels"][1]
    assert names[:2] == ["c0", "c1"]
    xt, yt, _ = load_cifar_arrays(tmp_path / "cifar-10-batches-py", "test", 10)
    np.testing.assert_array_equal(xt.reshape(2, -1), batches["test_batch"][b"data"])


def test_cifar100_reader_uses_fine_labels(tmp_path):
    """CIFAR-100 'train'/'test'/'meta' are read with the fine labels."""
    rng = np.random.default_rng(2)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    train = _cifar_batch(rng, 4, b"fine_labels", 100)
    train[b"coarse_labels"] = [0, 1, 2, 3]
    pickle.dump(train, open(folder / "train", "wb"))
    pickle.dump(_cifar_batch(rng, 2, b"fine_labels", 100), open(folder / "test", "wb"))
    pickle.dump({b"fine_label_names": [b"n%d" % i for i in range(100)]}, open(folder / "meta", "wb"))
    x, y, names = load_cifar_arrays(tmp_path, "train", 100)
    np.testing.assert_array_equal(y, train[b"fine_labels"])
    assert len(names) == 100 and x.shape == (4, 3, 32, 32)


def test_cifar10_dataset_normalises_test_split(tmp_path):
    """The CIFAR-10 test split is normalised per channel and not augmented."""
    _, batches = _tiny_cifar10(tmp_path)
    ds = load_dataset("cifar10", tmp_path, "test")
    x, _ = ds[1]
    raw = batches["test_batch"][b"data"][1].reshape(3, 32, 32) / 255.0
    mean = np.array([0.4914, 0.4822, 0.4465])[:, None, None]
    std = np.array([0.2470, 0.2435, 0.2616])[:, None, None]
    np.testing.assert_allclose(x.numpy(), (raw - mean) / std, rtol=1e-5, atol=1e-5)


def test_cifar_incomplete_folder_names_missing_files(tmp_path):
    """An incomplete CIFAR-10 folder names the expected layout, the missing file and the URL."""
    folder, _ = _tiny_cifar10(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("cifar10", tmp_path)
    msg = str(err.value)
    assert "data_batch_1..5, test_batch, batches.meta" in msg
    assert "missing data_batch_3" in msg
    assert "cifar-10-python.tar.gz" in msg and "https://www.cs.toronto.edu/~kriz/cifar.html" in msg


def test_cifar100_missing_message(tmp_path):
    """A missing CIFAR-100 folder names train, test, meta and the archive."""
    with pytest.raises(DatasetNotFoundError, match=r"cifar-100-python/\{train, test, meta\}.*cifar-100-python.tar.gz"):
        load_dataset("cifar100", tmp_path)


_EXECUTED = []


def _side_effect(tag):
    _EXECUTED.append(tag)


class _Payload:
    def __reduce__(self):
        return (_side_effect, ("pwned",))


def test_cifar_unpickler_refuses_foreign_globals(tmp_path):
    """A batch file referencing any non-NumPy global is refused and nothing in it runs."""
    folder, _ = _tiny_cifar10(tmp_path)
    pickle.dump({b"data": _Payload(), b"labels": [0]}, open(folder / "data_batch_1", "wb"))
    _EXECUTED.clear()
    with pytest.raises(pickle.UnpicklingError, match="refusing to unpickle"):
        load_dataset("cifar10", tmp_path)
    assert _EXECUTED == []
    assert isinstance(safe_unpickle(folder / "test_batch")[b"data"], np.ndarray)


def test_unknown_dataset_lists_names():
    """An unknown data-set name raises ValueError listing the known ones."""
    with pytest.raises(ValueError, match="digits, mnist, fashion_mnist, cifar10, cifar100"):
        load_dataset("imagenet")


def test_augment_rejected_without_standard_augmentation():
    """augment=True on the digits (no standard augmentation) raises ValueError."""
    with pytest.raises(ValueError, match="no standard augmentation"):
        load_dataset("digits", augment=True)


# ----------------------------------------------------------------------------------------------
# augmentation


def test_crop_flip_golden():
    """Centre crop without flip is the identity; offsets shift in zeros; flip mirrors."""
    x = torch.arange(16.0).view(1, 4, 4)
    assert torch.equal(crop_flip(x, 2, 2, False, 2), x)
    shifted = crop_flip(x, 0, 2, False, 2)  # content moves down by 2 rows
    assert torch.equal(shifted[0, 2:], x[0, :2]) and torch.all(shifted[0, :2] == 0)
    assert torch.equal(crop_flip(x, 2, 2, True, 2), x.flip(-1))


def test_augmentation_depends_on_seed_and_epoch_only(tmp_path):
    """Augmented samples are a function of (seed, epoch, index), not of the access order."""
    _tiny_cifar10(tmp_path)
    a = load_dataset("cifar10", tmp_path, "train", seed=5)
    b = load_dataset("cifar10", tmp_path, "train", seed=5)
    a.set_epoch(3), b.set_epoch(3)
    forward = [a[i][0] for i in range(10)]
    backward = [b[i][0] for i in reversed(range(10))][::-1]
    assert all(torch.equal(u, v) for u, v in zip(forward, backward))
    b.set_epoch(4)
    assert not all(torch.equal(u, b[i][0]) for i, u in enumerate(forward))


# ----------------------------------------------------------------------------------------------
# loaders


def _order(loader, epoch):
    set_epoch(loader, epoch)
    return torch.cat([y for _, y in loader]), torch.cat([x for x, _ in loader])


def test_loader_order_is_a_function_of_seed_and_epoch():
    """A fresh loader at epoch e yields the same batches as one that went through e-1 first."""
    run = get_loaders("digits", batch_size=100, seed=7)
    _order(run.train, 0)
    y1, x1 = _order(run.train, 1)
    fresh = get_loaders("digits", batch_size=100, seed=7)
    y1b, x1b = _order(fresh.train, 1)
    assert torch.equal(y1, y1b) and torch.equal(x1, x1b)
    y2, _ = _order(run.train, 2)
    assert not torch.equal(y1, y2)


def test_loader_workers_do_not_change_batches(tmp_path):
    """Two loader workers give the same augmented batches as loading in the main process."""
    _tiny_cifar10(tmp_path)
    a = get_loaders("cifar10", tmp_path, batch_size=4, seed=1, num_workers=0).train
    b = get_loaders("cifar10", tmp_path, batch_size=4, seed=1, num_workers=2).train
    for epoch in (0, 1):
        set_epoch(a, epoch), set_epoch(b, epoch)
        for (xa, ya), (xb, yb) in zip(a, b):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_shard_sampler_partitions_indices():
    """The evaluation shards of all ranks cover every index exactly once."""
    shards = [list(ShardSampler(11, r, 3)) for r in range(3)]
    assert sorted(sum(shards, [])) == list(range(11))
    assert [len(ShardSampler(11, r, 3)) for r in range(3)] == [4, 4, 3]


def test_distributed_train_shards_are_disjoint():
    """Two ranks' training shards of one epoch are disjoint and cover the digits."""
    a = get_loaders("digits", batch_size=64, seed=0, rank=0, world_size=2)
    b = get_loaders("digits", batch_size=64, seed=0, rank=1, world_size=2)
    ia, ib = list(a.train.sampler), list(b.train.sampler)
    assert len(set(ia) | set(ib)) == 1437 and len(ia) == len(ib) == 719


def test_get_loaders_validates_arguments():
    """Bad batch sizes, seeds and ranks raise ValueError naming the argument."""
    with pytest.raises(ValueError, match="batch_size"):
        get_loaders("digits", batch_size=0)
    with pytest.raises(ValueError, match="seed"):
        get_loaders("digits", seed=-1)
    with pytest.raises(ValueError, match="rank"):
        get_loaders("digits", rank=2, world_size=2)


def test_dataset_info_describes_shapes():
    """dataset_info gives classes, channels and frame size of each data set."""
    assert qd.dataset_info("cifar100").num_classes == 100
    assert qd.dataset_info("mnist").input_size == (28, 28)
    assert qd.dataset_info("digits").in_channels == 1 and not qd.dataset_info("digits").temporal


# ----------------------------------------------------------------------------------------------
# defective IDX files: each a DatasetFileError (a ValueError) naming the file


def _mnist_with(tmp_path, name, mutate):
    """A tiny gzip-compressed MNIST in tmp_path whose file ``name`` is rewritten by ``mutate``."""
    _tiny_mnist(tmp_path, compress=True)
    path = tmp_path / name
    mutate(path)
    return path


def test_idx_images_of_the_wrong_size_are_refused(tmp_path):
    """27x28 images in the image file: refused, naming the file and the expected size."""
    path = _mnist_with(tmp_path, "train-images-idx3-ubyte.gz", lambda p: _write_idx(
        p, np.zeros((5, 27, 28), np.uint8), compress=True))
    with pytest.raises(qd.DatasetFileError, match=r"uint8 \[N, 28, 28\]") as err:
        load_dataset("mnist", tmp_path, "train")
    assert str(path) in str(err.value)


def test_idx_labels_out_of_range_are_refused(tmp_path):
    """A label 10 in MNIST's label file: refused, naming the file, the index and the value."""
    path = _mnist_with(tmp_path, "t10k-labels-idx1-ubyte.gz", lambda p: _write_idx(
        p, np.array([1, 2, 10], np.uint8), compress=True))
    with pytest.raises(qd.DatasetFileError, match="outside 0..9") as err:
        load_dataset("mnist", tmp_path, "test")
    assert str(path) in str(err.value) and "index 2: 10" in str(err.value)


def test_idx_truncated_gzip_is_refused(tmp_path):
    """A .gz cut short (interrupted download): a clear error naming the file, no EOFError."""
    path = _mnist_with(tmp_path, "train-images-idx3-ubyte.gz",
                       lambda p: p.write_bytes(p.read_bytes()[:-40]))
    with pytest.raises(qd.DatasetFileError, match="not a complete gzip file") as err:
        load_dataset("mnist", tmp_path, "train")
    assert str(path) in str(err.value) and err.value.__cause__ is None


def test_idx_corrupt_gzip_is_refused(tmp_path):
    """A .gz with flipped bytes in the middle: a clear error naming the file, no zlib error."""
    def corrupt(p):
        raw = bytearray(p.read_bytes())
        for i in range(20, len(raw) - 20, 7):
            raw[i] ^= 0xFF
        p.write_bytes(bytes(raw))

    path = _mnist_with(tmp_path, "train-labels-idx1-ubyte.gz", corrupt)
    with pytest.raises(qd.DatasetFileError) as err:
        load_dataset("mnist", tmp_path, "train")
    assert str(path) in str(err.value)


def test_idx_not_gzip_at_all_is_refused(tmp_path):
    """A .gz that is not gzip (an HTML error page saved under the name): refused, naming it."""
    path = _mnist_with(tmp_path, "t10k-images-idx3-ubyte.gz",
                       lambda p: p.write_bytes(b"<html>404</html>"))
    with pytest.raises(qd.DatasetFileError) as err:
        load_dataset("mnist", tmp_path, "test")
    assert str(path) in str(err.value)


def test_idx_images_and_labels_of_other_lengths_are_refused(tmp_path):
    """5 images but 4 labels: refused, naming both files."""
    _mnist_with(tmp_path, "train-labels-idx1-ubyte.gz", lambda p: _write_idx(
        p, np.zeros(4, np.uint8), compress=True))
    with pytest.raises(qd.DatasetFileError, match="5 images in .* 4 labels in"):
        load_dataset("mnist", tmp_path, "train")
