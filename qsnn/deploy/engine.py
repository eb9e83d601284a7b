"""The packed engine: a Q-SNN computed from its packed file, with NumPy and numba, without PyTorch.

``load(path)`` reads a file of :func:`qsnn.deploy.export` and returns a :class:`PackedModel`;
``packed(x)`` maps x [T, B, C, H, W] (NumPy) to the readout [T, B, classes], as the PyTorch model
does. Inside, every binary convolution works on packed bits: the spikes (or, after an average pool,
the spike counts as bit planes) are packed 64 channels to a word and multiplied with the +-1 weights
by popcounts (``qsnn.deploy._kernels``); the membrane of every LIF layer is kept as an int8 level
(b bits) between steps; only the first convolution (whose input is the analog image) multiplies
floats, and only once when all T frames are the same image (direct encoding).

What equals PyTorch exactly and what does not: the binary convolutions' sums are exact integers, and
the LIF arithmetic is that of the layer's CPU kernel, so wherever the currents agree the spikes do.
The currents can differ in the last bit where PyTorch's convolution of the first layer sums in
another order and where its BatchNorm rounds differently from ``dot * gain + offset``; the readout's
matrix product sums in another order too. :func:`qsnn.deploy.report.agreement` measures how often
this changes a spike or a prediction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _kernels as k
from .format import PackedFileError, lif_spec, read_packed

__all__ = ["PackedModel", "load"]


def _threads(threads: int | None) -> None:
    import numba

    # numba's OpenMP layer next to torch's OpenMP runtime slows both (see qsnn.nn.neurons)
    if "NUMBA_THREADING_LAYER" not in os.environ and numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "workqueue"
    numba.set_num_threads(max(1, min(threads or numba.config.NUMBA_NUM_THREADS, numba.config.NUMBA_NUM_THREADS)))


@dataclass
class _Conv:
    name: str
    kind: str  # "binary" or "int8"
    cin: int
    cout: int
    k: int
    stride: int
    padding: int
    gain: np.ndarray  # float32 [C_out]: folded BN gain (binary: times 2**exponent)
    offset: np.ndarray  # float32 [C_out]
    plus: np.ndarray | None = None  # binary: uint64 [k, k, words, C_out]
    weight: np.ndarray | None = None  # int8 conv: float32 [k, k, C_in, C_out]
    membrane_scale: float | None = None  # the scale of the LIF this conv feeds (None: a block's conv2, shortcut)

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        return ((h + 2 * self.padding - self.k) // self.stride + 1,
                (w + 2 * self.padding - self.k) // self.stride + 1)


def _array(arrays, name, dtype, shape, path):
    if name not in arrays:
        raise PackedFileError(f"{path}: the manifest's layer needs the array {name!r}, which the file lacks")
    a = arrays[name]
    if a.dtype != np.dtype(dtype) or tuple(a.shape) != tuple(shape):
        raise PackedFileError(f"{path}: array {name!r} is {a.dtype} {list(a.shape)}, expected {dtype} {list(shape)}")
    return a


def _scale(value, path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < float("inf")):
        raise PackedFileError(f"{path}: invalid membrane scale {value!r} in the manifest")
    return float(value)


def _conv(spec: dict, arrays, path) -> _Conv:
    try:
        name, kind = spec["name"], spec["weights"]
        cin, cout, ks, stride, pad = (int(spec[key]) for key in ("cin", "cout", "k", "stride", "padding"))
    except (KeyError, TypeError, ValueError):
        raise PackedFileError(f"{path}: invalid convolution entry {spec!r} in the manifest") from None
    if min(cin, cout, ks, stride) < 1 or pad < 0 or kind not in ("binary", "int8"):
        raise PackedFileError(f"{path}: invalid convolution entry {spec!r} in the manifest")
    gain = np.array(_array(arrays, f"{name}.gain", np.float32, (cout,), path))
    offset = np.array(_array(arrays, f"{name}.offset", np.float32, (cout,), path))
    conv = _Conv(name, kind, cin, cout, ks, stride, pad, gain, offset)
    if spec.get("membrane_scale") is not None:
        conv.membrane_scale = _scale(spec["membrane_scale"], path)
    if kind == "binary":
        per_filter = ks * ks * cin
        signs = _array(arrays, f"{name}.signs", np.uint8, (cout, (per_filter + 7) // 8), path)
        exponent = _array(arrays, f"{name}.exponent", np.int8, (cout,), path)
        bits = np.unpackbits(signs, axis=1, count=per_filter, bitorder="little").reshape(cout, ks, ks, cin)
        words = (cin + 63) // 64
        padded = np.zeros((cout, ks, ks, words * 64), dtype=np.uint8)
        padded[..., :cin] = bits
        # re-laid as 64-bit masks [k, k, words, C_out]: still 1 bit per weight
        conv.plus = np.ascontiguousarray(
            np.packbits(padded.reshape(cout, ks, ks, words, 64), axis=-1, bitorder="little")
            .view("<u8")[..., 0].transpose(1, 2, 3, 0))
        conv.gain = (gain * np.exp2(exponent.astype(np.float32))).astype(np.float32)
    else:
        weight = _array(arrays, f"{name}.weight", np.int8, (cout, cin, ks, ks), path)
        scale = _array(arrays, f"{name}.scale", np.float32, (1,), path)[0]
        conv.weight = np.ascontiguousarray((weight.astype(np.float32) * scale).transpose(2, 3, 1, 0))
    return conv


class PackedModel:
    """A Q-SNN computed from its packed form (see the module docstring); made by :func:`load`.

    Attributes
    ----------
    manifest : dict
        The file's program: model name, LIF options, layers, head and readout.
    path : Path
        The file it was loaded from.
    """

    def __init__(self, manifest: dict, arrays: dict, path: Path):
        self.manifest, self.path = manifest, path
        try:
            lif = manifest["lif"]
            self.spec = lif_spec(lif)
            self.in_channels = int(manifest["in_channels"])
            head, readout, layers = manifest["head"], manifest["readout"], manifest["layers"]
            self.head_pool, self.head_size = head["pool"], int(head["size"])
            self.num_classes = int(readout["out"])
            self.fc_in = int(readout["in"])
        except (KeyError, TypeError, ValueError):
            raise PackedFileError(f"{path}: the manifest lacks or garbles the model description") from None
        if self.spec.reset not in ("zero", "subtract") or self.head_pool not in ("adaptive", "avg") or not (
                self.spec.bits is None or self.spec.bits <= 8) or self.spec.active_quantizer not in (None, "uniform"):
            raise PackedFileError(f"{path}: unsupported LIF or head options {lif!r}, {head!r}")
        self.decay = np.float32(self.spec.decay)
        self.threshold = np.float32(self.spec.threshold)
        self.reset = self.spec.reset
        self.membrane_bits = self.spec.bits
        self.levels = self.spec.levels
        self.layers = []
        for spec in layers:
            op = spec.get("op") if isinstance(spec, dict) else None
            if op == "conv":
                conv = _conv(spec, arrays, path)
                if conv.membrane_scale is None:
                    raise PackedFileError(f"{path}: layer {conv.name} has no membrane scale")
                self.layers.append(("conv", conv))
            elif op == "block":
                short = None if spec.get("shortcut") is None else _conv(spec["shortcut"], arrays, path)
                b1 = _conv(spec["branch1"], arrays, path)
                if b1.membrane_scale is None:
                    raise PackedFileError(f"{path}: layer {b1.name} has no membrane scale")
                self.layers.append(("block", (b1, _conv(spec["conv2"], arrays, path), short,
                                              _scale(spec.get("membrane_scale"), path))))
            elif op == "avgpool":
                self.layers.append(("avgpool", int(spec["k"])))
            elif op == "maxpool":
                self.layers.append(("maxpool", (int(spec["k"]), int(spec["stride"]), int(spec["padding"]))))
            else:
                raise PackedFileError(f"{path}: unknown layer {spec!r} in the manifest")
        # padding of the next layer where it is a binary conv (the layer before packs its spikes for it)
        self._next_pad = [nxt[1].padding if nxt[0] == "conv" else -1 for nxt in self.layers[1:]] + [-1]
        w = _array(arrays, "readout.weight", np.int8, (self.num_classes, self.fc_in), path)
        scale = _array(arrays, "readout.scale", np.float32, (1,), path)[0]
        self.readout_weight = np.ascontiguousarray((w.astype(np.float32) * scale).T)  # [in, classes]
        self.readout_bias = np.array(_array(arrays, "readout.bias", np.float32, (self.num_classes,), path))

    # --- the layers ----------------------------------------------------------------------------

    def _lif_args(self, scale: float) -> tuple:
        """The float32 scalars of the LIF kernels: as :mod:`qsnn.nn.neurons` rounds them (the step
        ``scale / n`` in double precision, then once to float32)."""
        n = self.levels
        return (self.decay, self.threshold, np.float32(scale), np.float32(n), np.float32(self.spec.step(scale)),
                self.reset == "subtract", n > 0)

    def _lif(self, current: np.ndarray, steps: int, scale: float) -> np.ndarray:
        """current float32 [T or 1, B, H, W, C] -> spikes uint8 [T, B, H, W, C]."""
        flat = current.reshape(current.shape[0], -1)
        decay, thr, sc, nf, step, subtract, quantized = self._lif_args(scale)
        if quantized:
            s = k.lif_quantized(flat, steps, decay, thr, sc, nf, step, subtract)
        else:
            s = k.lif_full(flat, steps, decay, thr, subtract)
        return s.reshape((steps,) + current.shape[1:])

    @staticmethod
    def _packed_input(conv: _Conv, a: np.ndarray) -> np.ndarray:
        """a uint8 [N, H, W, C] (spikes or counts) as bit planes packed 64 channels to a word, padded."""
        planes = max(1, int(a.max(initial=0)).bit_length())
        return k.pack_planes(np.ascontiguousarray(a), planes, conv.padding, (conv.cin + 63) // 64)

    def _current(self, conv: _Conv, a: np.ndarray, divisor: int, packed=None) -> np.ndarray:
        """Currents float32 [T, B, H', W', C_out] of a binary ``conv`` on a [T, B, H, W, C_in] (values a / divisor;
        ``packed``: a already packed for this conv)."""
        t, b = a.shape[:2]
        ho, wo = conv.out_size(a.shape[2], a.shape[3])
        if packed is None:
            packed = self._packed_input(conv, a.reshape((t * b,) + a.shape[2:]))
        gain = (conv.gain / np.float32(divisor)).astype(np.float32)  # divisor 1 or k^2: exact for k = 2
        cur = k.binary_conv(packed, conv.plus, conv.k, conv.stride, ho, wo, gain, conv.offset)
        return cur.reshape((t, b) + cur.shape[1:])

    def _conv_lif(self, conv: _Conv, a: np.ndarray, divisor: int, steps: int, packed=None, pack_pad: int = -1):
        """Binary conv + BN + LIF fused: ``(spikes uint8 [T, B, H', W', C_out], packed spikes or None)``.

        ``packed``: the input already packed (by the layer before); ``pack_pad`` >= 0: also return the
        output packed for a next convolution with that padding."""
        t, b = a.shape[:2]
        ho, wo = conv.out_size(a.shape[2], a.shape[3])
        if packed is None:
            packed = self._packed_input(conv, a.reshape((t * b,) + a.shape[2:]))
        gain = (conv.gain / np.float32(divisor)).astype(np.float32)
        s, out = k.binary_conv_lif(packed, conv.plus, conv.k, conv.stride, ho, wo, gain, conv.offset, pack_pad,
                                   steps, *self._lif_args(conv.membrane_scale))
        return s, (out if pack_pad >= 0 else None)

    def _first_lif(self, conv: _Conv, frames: np.ndarray, steps: int, pack_pad: int = -1):
        """The 8-bit input conv + BN + LIF on frames float32 [S, B, H, W, C] (S = 1: one image for all
        steps), returning ``(spikes, packed or None)`` as :meth:`_conv_lif`."""
        ho, wo = conv.out_size(frames.shape[2], frames.shape[3])
        s, out = k.dense_conv_lif(frames, conv.weight, conv.stride, conv.padding, ho, wo, conv.gain, conv.offset,
                                  pack_pad, steps, *self._lif_args(conv.membrane_scale))
        return s, (out if pack_pad >= 0 else None)

    def forward(self, x: np.ndarray, *, trace: list | None = None) -> np.ndarray:
        """Readout float32 [T, B, classes] of x [T, B, C, H, W], unchecked (see ``__call__``).

        ``trace``, a list, receives ``(conv, input, divisor)`` for every binary convolution: its uint8
        input [T, B, H, W, C] (spikes, or spike counts to be divided by ``divisor``).
        """
        steps = x.shape[0]
        frames = np.ascontiguousarray(np.asarray(x, dtype=np.float32).transpose(0, 1, 3, 4, 2))  # NHWC
        if steps > 1 and bool(np.all(frames == frames[:1])):
            frames = frames[:1]  # direct encoding: the first layer's current is computed once
        a, divisor, packed = None, 1, None
        for index, (op, arg) in enumerate(self.layers):
            if op == "conv":
                nxt = self._next_pad[index]  # the next layer is a binary conv: pack for it while firing
                if a is None:
                    a, packed = self._first_lif(arg, frames, steps, nxt)
                else:
                    if trace is not None:
                        trace.append((arg, a, divisor))
                    a, packed = self._conv_lif(arg, a, divisor, steps, packed, nxt)
                divisor = 1
                continue
            packed = None
            if op == "block":
                b1, c2, short, scale = arg
                if trace is not None:
                    trace.append((b1, a, divisor))
                s1, p1 = self._conv_lif(b1, a, divisor, steps, None, c2.padding)
                if trace is not None:
                    trace.append((c2, s1, 1))
                cur = self._current(c2, s1, 1, p1)
                if short is None:
                    cur = cur + (a.astype(np.float32) / np.float32(divisor))
                else:
                    if trace is not None:
                        trace.append((short, a, divisor))
                    cur = cur + self._current(short, a, divisor)
                a, divisor = self._lif(np.ascontiguousarray(cur, dtype=np.float32), steps, scale), 1
            elif op == "avgpool":
                if int(a.max(initial=0)) * arg * arg > 255:
                    raise ValueError("an average pool of counts would exceed 8 bits")
                t, b = a.shape[:2]
                pooled = k.sum_pool(np.ascontiguousarray(a.reshape((t * b,) + a.shape[2:])), arg)
                a, divisor = pooled.reshape((t, b) + pooled.shape[1:]), divisor * arg * arg
            else:  # maxpool
                t, b = a.shape[:2]
                pooled = k.max_pool(np.ascontiguousarray(a.reshape((t * b,) + a.shape[2:])), *arg)
                a = pooled.reshape((t, b) + pooled.shape[1:])
        return self._readout(a, divisor)

    def _readout(self, a: np.ndarray, divisor: int) -> np.ndarray:
        t, b, h, w, c = a.shape
        s = self.head_size
        if self.head_pool == "adaptive":  # torch's regions: floor(i h / s) .. ceil((i + 1) h / s)
            ys = [(i * h // s, -(-(i + 1) * h // s)) for i in range(s)]
            xs = [(j * w // s, -(-(j + 1) * w // s)) for j in range(s)]
        else:
            ys = [(i * s, i * s + s) for i in range(h // s)]
            xs = [(j * s, j * s + s) for j in range(w // s)]
        means = np.empty((t, b, c, len(ys), len(xs)), dtype=np.float32)
        for i, (y0, y1) in enumerate(ys):
            for j, (x0, x1) in enumerate(xs):
                sums = a[:, :, y0:y1, x0:x1].sum(axis=(2, 3), dtype=np.int32)
                means[:, :, :, i, j] = sums.astype(np.float32) / np.float32((y1 - y0) * (x1 - x0) * divisor)
        feats = means.reshape(t, b, -1)  # torch's flatten order: C, H, W
        if feats.shape[-1] != self.fc_in:
            raise ValueError(f"the features have {feats.shape[-1]} values, the readout takes {self.fc_in}: "
                             f"the input's height and width differ from those the model was built for")
        return feats @ self.readout_weight + self.readout_bias

    def __call__(self, x, *, threads: int | None = None) -> np.ndarray:
        """The readout [T, B, classes] (float32) of x [T, B, C, H, W]; the prediction is the argmax of
        its mean over T.

        Raises
        ------
        ValueError
            If x is not a real-valued NumPy array [T, B, C, H, W] with C = ``in_channels``, is empty, or
            holds NaN or infinity.
        """
        if not isinstance(x, np.ndarray) or x.ndim != 5 or x.shape[2] != self.in_channels \
                or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise ValueError(f"x must be a real NumPy array [T, B, {self.in_channels}, H, W], got "
                             f"{type(x).__name__} {getattr(x, 'dtype', '')} {list(getattr(x, 'shape', []))}")
        if 0 in x.shape:
            raise ValueError(f"x must not be empty, got shape {list(x.shape)}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x holds NaN or infinite values")
        _threads(threads)
        return self.forward(x)

    def predict(self, x, *, threads: int | None = None) -> np.ndarray:
        """Class indices [B]: argmax over classes of the readout's mean over T."""
        return self(x, threads=threads).mean(axis=0).argmax(axis=1)

    def membrane_state_bytes(self, input_size: tuple[int, int]) -> dict:
        """One sample's membrane state at input (H, W): neurons, bytes at the stored bit width, bytes in float32."""
        h, w = input_size
        neurons = 0

        def conv_neurons(conv, h, w):
            ho, wo = conv.out_size(h, w)
            return ho, wo, ho * wo * conv.cout

        for op, arg in self.layers:
            if op == "conv":
                h, w, n = conv_neurons(arg, h, w)
                neurons += n
            elif op == "block":
                h1, w1, n1 = conv_neurons(arg[0], h, w)
                h, w, n2 = conv_neurons(arg[1], h1, w1)
                neurons += n1 + n2
            elif op == "avgpool":
                h, w = h // arg, w // arg
            else:
                kk, st, pd = arg
                h, w = (h + 2 * pd - kk) // st + 1, (w + 2 * pd - kk) // st + 1
        bits = 32 if self.membrane_bits is None else self.membrane_bits
        return {"neurons": neurons, "bits": bits, "packed_bytes": neurons * bits / 8, "float32_bytes": neurons * 4}


def load(path: str | os.PathLike) -> PackedModel:
    """Load a packed Q-SNN written by :func:`qsnn.deploy.export`.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    PackedFileError
        If the file is truncated, corrupted, foreign, of an unknown version, or its manifest does not
        describe a model the engine can compute (the message names the problem).
    """
    path = Path(path)
    manifest, arrays = read_packed(path)
    if manifest.get("format") != "qsnn-packed":
        raise PackedFileError(f"{path}: the manifest does not describe a packed Q-SNN")
    return PackedModel(manifest, arrays, path)
