"""Tests of qsnn.deploy: the packed file format (round trips and every kind of bad file), export (what it
refuses), the engine against the PyTorch model on every architecture and LIF option it supports
(differential), its kernels against plain definitions, and the measurements (bytes, operations,
agreement on the committed Fashion-MNIST runs)."""

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.testing import assert_array_equal

from qsnn.deploy import PackedFileError, export, load
from qsnn.deploy import _kernels as K
from qsnn.deploy.format import HEADER, MAGIC, VERSION, read_packed, write_packed
from qsnn.deploy.report import anatomy, anatomy_summary, agreement, operation_counts, throughput
from qsnn.models import build
from qsnn.size import model_size

# chapter 8's hard-reset runs: the slim VGG-11 (WS-DR, 4-bit membranes) of its smaller Fashion-MNIST regime
FASHION = Path(__file__).resolve().parents[2] / "book" / "experiments" / "fashion_mnist_resets"


def _randomize_bn(model, seed=0):
    """BatchNorm statistics and affine parameters away from their defaults, so that folding matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(c, generator=g) * 2 + 0.2)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.3 + 0.4)
    return model.eval()


def _small_model(name="vgg11", seed=0, **kw):
    torch.manual_seed(seed)
    widths = {"vgg11": [8, 16, 16, 16, 32, 32, 32, 32], "vggsnn": [8, 8, 16, 16, 16, 16, 16, 16],
              "resnet19": [8, 16, 32], "resnet18": [8, 16, 16, 16], "small": [8, 70, 16]}[name]
    kw.setdefault("membrane_bits", 4)
    extra = {"input_size": (16, 16)} if name == "vggsnn" else {}
    return _randomize_bn(build(name, num_classes=10, in_channels=2, widths=widths, **extra, **kw), seed)


def _input(seed=0, steps=3, batch=4, size=16, same=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.3, 1.0, size=(1 if same else steps, batch, 2, size, size)).astype(np.float32)
    return np.array(np.broadcast_to(x, (steps,) + x.shape[1:])) if same else x


# --- the file format ---------------------------------------------------------------------------


def test_format_round_trip(tmp_path):
    arrays = {"a": np.arange(10, dtype=np.int8).reshape(2, 5), "b": np.linspace(0, 1, 7, dtype=np.float32),
              "c": np.array([255, 0, 7], dtype=np.uint8), "d": np.array([-2**31, 2**31 - 1], dtype=np.int32),
              "e": np.zeros((0, 3), dtype=np.float32)}
    path = write_packed(tmp_path / "m.qsnn", {"format": "x", "n": [1, 2]}, arrays)
    manifest, back = read_packed(path)
    assert manifest == {"format": "x", "n": [1, 2]}
    assert list(back) == list(arrays)
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        assert_array_equal(back[k], v)
        assert not back[k].flags.writeable
    raw = path.read_bytes()
    assert raw[:8] == MAGIC and struct.unpack_from("<H", raw, 8)[0] == VERSION


def test_format_refuses_what_it_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        write_packed(tmp_path / "m", {}, {"a": np.zeros(2, dtype=np.float64)})
    with pytest.raises(ValueError, match="arrays"):
        write_packed(tmp_path / "m", {"arrays": []}, {})
    assert not (tmp_path / "m").exists()


def _rewrite(path, data: bytes, fix_crc=True):
    """Replace a file's bytes; with ``fix_crc`` the CRC is recomputed, so a later check must catch it."""
    if fix_crc and len(data) >= HEADER:
        m = struct.unpack_from("<I", data, 12)[0]
        crc = zlib.crc32(data[HEADER + m:], zlib.crc32(data[HEADER:HEADER + m]))
        data = data[:20] + struct.pack("<I", crc) + data[24:]
    path.write_bytes(data)


@pytest.fixture
def packed_file(tmp_path):
    return export(_small_model("small"), tmp_path / "small.qsnn")


def test_every_bad_file_is_named(packed_file, tmp_path):
    good = packed_file.read_bytes()
    m = struct.unpack_from("<I", good, 12)[0]
    bad = tmp_path / "bad.qsnn"
    cases = [
        (good[:10], "truncated.*header"),
        (good[:-1], "truncated"),
        (good + b"\0", "longer than its header"),
        (b"\x89PNG\r\n\x1a\n" + good[8:], "not a packed Q-SNN"),
        (good[:8] + struct.pack("<H", VERSION + 1) + good[10:], "format version 2"),
        (good[:10] + b"\x01\x00" + good[12:], "reserved"),
        (good[:-5] + bytes([good[-5] ^ 0x10]) + good[-4:], "corrupted: its CRC-32"),
        (good[:HEADER + 3] + bytes([good[HEADER + 3] ^ 0x20]) + good[HEADER + 4:], "corrupted: its CRC-32"),
    ]
    for data, pattern in cases:
        _rewrite(bad, data, fix_crc=False)
        with pytest.raises(PackedFileError, match=pattern):
            load(bad)
    # damage the CRC cannot see (recomputed), caught by the later checks
    manifest = json.loads(good[HEADER:HEADER + m])
    for change, pattern in [
        (lambda d: d.__setitem__("format", "other"), "does not describe a packed Q-SNN"),
        (lambda d: d["arrays"][0].__setitem__(3, 10**9), "beyond the payload"),
        (lambda d: d["arrays"][0].__setitem__(1, "float64"), "invalid array table entry"),
        (lambda d: d.__setitem__("arrays", {}), "without an array table"),
        (lambda d: d["layers"].append({"op": "softmax"}), "unknown layer"),
        (lambda d: d["lif"].__setitem__("reset", "mod"), "unsupported LIF"),
        (lambda d: d["arrays"].pop(0), "lacks"),
        (lambda d: d["arrays"][0].__setitem__(2, [1, 1]), "expected"),
    ]:
        d = json.loads(good[HEADER:HEADER + m])
        change(d)
        meta = json.dumps(d).encode()
        payload = good[HEADER + m:]
        _rewrite(bad, good[:12] + struct.pack("<II", len(meta), len(payload)) + b"\0" * 4 + meta + payload)
        with pytest.raises(PackedFileError, match=pattern):
            load(bad)
    assert manifest["format"] == "qsnn-packed"
    _rewrite(bad, good[:HEADER] + b"\xff" * m + good[HEADER + m:])
    with pytest.raises(PackedFileError, match="invalid manifest"):
        load(bad)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.qsnn")


def test_loading_never_unpickles(packed_file, tmp_path):
    import pickle

    evil = tmp_path / "evil.qsnn"
    evil.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(PackedFileError, match="not a packed Q-SNN"):
        load(evil)


# --- export ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(weight_bits=32), "full-precision"),
    (dict(reset="mod"), "integer spike counts"),
    (dict(membrane_quantizer="tanh"), "whole batch"),
])
def test_export_refuses_what_the_engine_cannot_compute(tmp_path, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        export(_small_model("small", **kwargs), tmp_path / "m.qsnn")
    assert not (tmp_path / "m.qsnn").exists()


def test_export_does_not_overwrite(tmp_path, packed_file):
    before = packed_file.read_bytes()
    with pytest.raises(ValueError, match="overwrite=True"):
        export(_small_model("small", seed=1), packed_file)
    assert packed_file.read_bytes() == before
    export(_small_model("small", seed=1), packed_file, overwrite=True)
    assert packed_file.read_bytes() != before
    with pytest.raises(ValueError, match="does not exist"):
        export(_small_model("small"), tmp_path / "no" / "m.qsnn")
    with pytest.raises(ValueError, match="SpikingModel"):
        export(torch.nn.Linear(2, 2), tmp_path / "lin.qsnn")


def test_export_leaves_the_model_unchanged(tmp_path):
    model = _small_model("vgg11")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    export(model, tmp_path / "m.qsnn")
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


# --- the engine against PyTorch -----------------------------------------------------------------


def _torch_readout(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("name", ["vgg11", "vggsnn", "resnet19", "resnet18", "small"])
@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_engine_equals_torch_on_every_architecture(tmp_path, name, reset):
    model = _small_model(name, reset=reset)
    packed = load(export(model, tmp_path / "m.qsnn"))
    size = 8 if name == "small" else 16
    for same in (True, False):
        x = _input(seed=1, size=size, same=same)
        ref, out = _torch_readout(model, x), packed(x)
        assert out.shape == ref.shape and out.dtype == np.float32
        assert np.abs(out - ref).max() < 1e-4, (name, reset, same)
        assert_array_equal(packed.predict(x), ref.mean(0).argmax(1))


@pytest.mark.parametrize("bits", [None, 2, 3, 8])
def test_engine_equals_torch_for_every_membrane_width(tmp_path, bits):
    model = _small_model("vgg11", membrane_bits=bits, decay=0.75, threshold=0.8, seed=3)
    packed = load(export(model, tmp_path / "m.qsnn"))
    x = _input(seed=2, steps=5, same=False)
    assert np.abs(packed(x) - _torch_readout(model, x)).max() < 1e-4
    assert packed.manifest["lif"] == {"decay": 0.75, "threshold": pytest.approx(0.8), "reset": "zero",
                                      "membrane_bits": bits, "quantizer": None if bits is None else "uniform"}


def test_engine_spikes_equal_torch_spikes(tmp_path):
    """Layer by layer the spikes are the same bits, not only the readout close."""
    from qsnn.models import spiking_layers

    model = _small_model("vgg11", seed=4)
    packed = load(export(model, tmp_path / "m.qsnn"))
    x = _input(seed=4, same=False)
    spikes = []
    hooks = [m.register_forward_hook(lambda m, i, o: spikes.append(o.numpy().transpose(0, 1, 3, 4, 2)))
             for m in spiking_layers(model)]
    _torch_readout(model, x)
    for h in hooks:
        h.remove()
    trace = []
    packed.forward(x, trace=trace)
    engine_inputs = [a for _, a, d in trace if d == 1]  # the inputs not pooled are spikes of the layer before
    torch_unpooled = [s for i, s in enumerate(spikes[:-1]) if i not in (1, 3, 5)]
    assert len(engine_inputs) == len(torch_unpooled) > 0
    for a, s in zip(engine_inputs, torch_unpooled):
        assert_array_equal(a, s.astype(np.uint8))


def test_engine_refuses_bad_input(packed_file):
    packed = load(packed_file)
    good = _input(size=8)
    for x, pattern in [(torch.from_numpy(good), "NumPy array"), (good[0], r"\[T, B, 2, H, W\]"),
                       (good[:, :, :1], r"\[T, B, 2, H, W\]"), (good[:, :0], "empty"),
                       (np.where(good > 1, np.nan, good), "NaN"), (good.astype(complex), "real")]:
        with pytest.raises(ValueError, match=pattern):
            packed(x)


# --- kernels against plain definitions ----------------------------------------------------------


def test_popcount_equals_bin_count():
    from numba import njit

    @njit
    def counts(v):
        out = np.empty(v.size, dtype=np.uint64)
        for i in range(v.size):
            out[i] = K.popcount(v[i])
        return out

    v = np.array([0, 1, 2**63, 2**64 - 1, 0x5555555555555555, 12345678901234567], dtype=np.uint64)
    assert list(counts(v)) == [bin(int(a)).count("1") for a in v]


@pytest.mark.parametrize("cin, stride, pad, planes", [(3, 1, 1, 1), (64, 1, 1, 3), (65, 2, 1, 3), (130, 1, 0, 2)])
def test_binary_conv_is_the_exact_integer_convolution(cin, stride, pad, planes):
    rng = np.random.default_rng(cin)
    a = rng.integers(0, 2**planes, size=(3, 7, 6, cin), dtype=np.uint8)
    signs = rng.choice([-1, 1], size=(5, cin, 3, 3))
    ref = F.conv2d(torch.from_numpy(a.transpose(0, 3, 1, 2)).double(), torch.from_numpy(signs).double(),
                   stride=stride, padding=pad).numpy().transpose(0, 2, 3, 1)
    words = (cin + 63) // 64
    bits = np.zeros((5, 3, 3, words * 64), dtype=np.uint8)
    bits[..., :cin] = signs.transpose(0, 2, 3, 1) > 0
    plus = np.ascontiguousarray(np.packbits(bits.reshape(5, 3, 3, words, 64), axis=-1, bitorder="little")
                                .view("<u8")[..., 0].transpose(1, 2, 3, 0))
    packed = K.pack_planes(a, planes, pad, words)
    ho, wo = ref.shape[1:3]
    out = K.binary_conv(packed, plus, 3, stride, ho, wo, np.ones(5, np.float32), np.zeros(5, np.float32))
    assert_array_equal(out, ref.astype(np.float32))


def test_pools_equal_torch():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, size=(2, 9, 8, 3), dtype=np.uint8)
    t = torch.from_numpy(a.transpose(0, 3, 1, 2)).float()
    assert_array_equal(K.sum_pool(a, 2), (F.avg_pool2d(t, 2) * 4).numpy().transpose(0, 2, 3, 1))
    assert_array_equal(K.max_pool(a, 3, 2, 1), F.max_pool2d(t, 3, 2, 1).numpy().transpose(0, 2, 3, 1))


def test_lif_kernel_equals_the_layer():
    from qsnn.nn import LIF

    rng = np.random.default_rng(0)
    cur = rng.normal(0.4, 0.8, size=(6, 3000)).astype(np.float32)
    for reset in ("zero", "subtract"):
        for bits in (2, 4, 8):
            layer = LIF(threshold=0.9, decay=0.6, reset=reset, membrane_bits=bits)
            with torch.no_grad():
                ref = layer(torch.from_numpy(cur)).numpy()
            nf = np.float32(2 ** (bits - 1) - 1)
            out = K.lif_quantized(cur, 6, np.float32(0.6), np.float32(0.9), np.float32(0.9), nf,
                                  np.float32(np.float32(0.9) / nf), reset == "subtract")
            assert_array_equal(out, ref.astype(np.uint8))
        layer = LIF(threshold=0.9, decay=0.6, reset=reset, membrane_bits=None)
        with torch.no_grad():
            ref = layer(torch.from_numpy(cur)).numpy()
        assert_array_equal(K.lif_full(cur, 6, np.float32(0.6), np.float32(0.9), reset == "subtract"), ref)


# --- measurements -------------------------------------------------------------------------------


def test_anatomy_accounts_for_every_byte(packed_file):
    rows = anatomy(packed_file)
    assert rows[0]["offset"] == 0
    for a, b in zip(rows, rows[1:]):
        assert b["offset"] == a["offset"] + a["bytes"]
    assert rows[-1]["offset"] + rows[-1]["bytes"] == packed_file.stat().st_size
    summary = anatomy_summary(packed_file)
    assert sum(v for k, v in summary.items() if k != "total") == summary["total"]


def test_operation_counts_against_a_plain_count(tmp_path):
    model = _small_model("small")
    packed = load(export(model, tmp_path / "m.qsnn"))
    x = _input(size=8, same=True)
    counts = operation_counts(packed, x)
    trace = []
    packed.forward(x, trace=trace)
    for row, (conv, a, _) in zip(counts["layers"][1:-1], trace):
        t, b = a.shape[:2]
        nz = torch.from_numpy((a > 0).reshape((t * b,) + a.shape[2:]).transpose(0, 3, 1, 2)).double()
        plain = F.conv2d(nz, torch.ones(conv.cout, conv.cin, conv.k, conv.k, dtype=torch.float64),
                         stride=conv.stride, padding=conv.padding).sum().item()
        assert row["accumulates"] == pytest.approx(plain / b)
    first = counts["layers"][0]
    assert first["macs"] == first["dense_macs"] == 8 * 8 * 8 * 9 * 2  # once: every frame is the same image
    assert counts["ann_macs"] == sum(r["dense_macs"] for r in counts["layers"])
    assert counts["energy_pj"] == pytest.approx(0.9 * counts["accumulates"] + 4.6 * counts["macs"])


def test_membrane_state_bytes_counts_every_neuron(tmp_path):
    from qsnn.models import spiking_layers

    for name in ("vgg11", "resnet19"):
        model = _small_model(name, membrane_bits=2)
        packed = load(export(model, tmp_path / f"{name}.qsnn"))
        sizes = []
        hooks = [m.register_forward_hook(lambda m, i, o: sizes.append(o[0, 0].numel())) for m in spiking_layers(model)]
        _torch_readout(model, _input(size=16, steps=1, batch=1))
        for h in hooks:
            h.remove()
        mem = packed.membrane_state_bytes((16, 16))
        assert mem["neurons"] == sum(sizes)
        assert mem["packed_bytes"] * 16 == mem["float32_bytes"]


def test_paper_scale_files_match_the_reported_sizes(tmp_path):
    """VGG-11 and ResNet-19 (CIFAR-10), built untrained: the packed bytes against the paper's 1.20 / 1.65 MB."""
    for name, reported in (("vgg11", 1.20), ("resnet19", 1.65)):
        model = build(name, num_classes=10, in_channels=3, membrane_bits=2).eval()
        path = export(model, tmp_path / f"{name}.qsnn")
        size = path.stat().st_size / 1e6
        assert abs(size - reported) / reported < 0.02, (name, size)
        assert size <= 1.05 * model_size(model)


def test_committed_fashion_mnist_run_agrees_with_its_stored_predictions(tmp_path):
    from qsnn.data import load_dataset, to_time_first
    from qsnn.experiments import load_run

    run = load_run(FASHION / "zero" / "seed0")
    path = export(run.model, tmp_path / "fm.qsnn")
    assert path.stat().st_size <= 1.05 * model_size(run.model) * 1e6
    packed = load(path)
    stored = run.metrics["test_predictions"]
    test = load_dataset("fashion_mnist", None, "test")
    x = to_time_first(torch.stack([test[i][0] for i in range(len(stored))]), run.config.time_steps).numpy()
    assert packed.predict(x).tolist() == stored
    result = agreement(run.model, packed, test, run.config.time_steps, limit=250)
    assert result["same_prediction"] == 250 and result["max_abs_readout_diff"] < 1e-4
    speed = throughput(packed, run.model, x[:, :50], repeats=1)
    assert speed["engine_s"] > 0 and speed["batch"] == 50


def test_first_layer_spikes_find_every_flipped_spike(tmp_path):
    """Equal bits give no difference; a first layer whose gain is nudged in the engine alone flips spikes,
    which are counted per step, and the images they reach are those whose readout differs."""
    from qsnn.deploy.report import READOUT_TOLERANCE, first_layer_spikes

    model = _small_model("vgg11", seed=4)
    packed = load(export(model, tmp_path / "m.qsnn"))
    x = _input(seed=4, steps=3, batch=6)
    same = first_layer_spikes(model, packed, x, threads=1)
    assert same["differ"] == 0 and same["neuron_steps"] == 3 * 6 * 8 * 16 * 16
    dataset = [(torch.from_numpy(x[0, i]), 0) for i in range(6)]
    assert agreement(model, packed, dataset, 3)["readout_differs"] == 0
    first = packed.layers[0][1]
    first.gain[:] = first.gain * np.float32(1.05)  # the engine's first layer only
    nudged = first_layer_spikes(model, packed, x, threads=1)
    assert nudged["differ"] > 0 and sum(nudged["differ_per_step"]) == nudged["differ"]
    result = agreement(model, packed, dataset, 3)
    assert 0 < result["readout_differs"] == len(result["readout_differs_index"]) <= 6
    assert result["max_abs_readout_diff"] > READOUT_TOLERANCE
