"""The packed engine: a Q-SNN computed from its packed file, with NumPy and numba, without PyTorch.

``load(path)`` reads a file of :func:`qsnn.deploy.export` and returns a :class:`PackedModel`;
``packed(x)`` maps x [T, B, C, H, W] (NumPy) to the readout [T, B, classes], as the PyTorch model
does. Inside, every binary convolution works on packed bits: the spikes (or, after an average pool,
the spike counts as bit planes) are packed 64 channels to a word and multiplied with the +-1 weights
by popcounts (:mod:`qsnn.deploy._kernels`); the membrane of every LIF layer is kept as an int8 level
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
from .format import PackedFileError, read_packed

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
            self.decay = np.float32(lif["decay"])
            self.threshold = np.float32(lif["threshold"])
            self.reset = lif["reset"]
            self.membrane_bits = lif["membrane_bits"]
            self.in_channels = int(manifest["in_channels"])
            head, readout, layers = manifest["head"], manifest["readout"], manifest["layers"]
            self.head_pool, self.head_size = head["pool"], int(head["size"])
            self.num_classes = int(readout["out"])
            self.fc_in = int(readout["in"])
        except (KeyError, TypeError, ValueError):
            raise PackedFileError(f"{path}: the manifest lacks or garbles the model description") from None
        if self.reset not in ("zero", "subtract") or self.head_pool not in ("adaptive", "avg") or not (
                self.membrane_bits is None or (isinstance(self.membrane_bits, int) and 2 <= self.membrane_bits <= 8)):
            raise PackedFileError(f"{path}: unsupported LIF or head options {lif!r}, {head!r}")
        if self.membrane_bits is not None:
            self.nf = np.float32(2 ** (self.membrane_bits - 1) - 1)
            self.step = np.float32(self.threshold / self.nf)
        self.layers = []
        for spec in layers:
            op = spec.get("op") if isinstance(spec, dict) else None
            if op == "conv":
                self.layers.append(("conv", _conv(spec, arrays, path)))
            elif op == "block":
                short = None if spec.get("shortcut") is None else _conv(spec["shortcut"], arrays, path)
                self.layers.append(("block", (_conv(spec["branch1"], arrays, path),
                                              _conv(spec["conv2"], arrays, path), short)))
            elif op == "avgpool":
                self.layers.append(("avgpool", int(spec["k"])))
            elif op == "maxpool":
                self.layers.append(("maxpool", (int(spec["k"]), int(spec["stride"]), int(spec["padding"]))))
            else:
                raise PackedFileError(f"{path}: unknown layer {spec!r} in the manifest")
        w = _array(arrays, "readout.weight", np.int8, (self.num_classes, self.fc_in), path)
        scale = _array(arrays, "readout.scale", np.float32, (1,), path)[0]
        self.readout_weight = np.ascontiguousarray((w.astype(np.float32) * scale).T)  # [in, classes]
        self.readout_bias = np.array(_array(arrays, "readout.bias", np.float32, (self.num_classes,), path))

    # --- the layers ----------------------------------------------------------------------------

    def _lif(self, current: np.ndarray, steps: int) -> np.ndarray:
        """current float32 [T or 1, B, H, W, C] -> spikes uint8 [T, B, H, W, C]."""
        flat = current.reshape(current.shape[0], -1)
        subtract = self.reset == "subtract"
        if self.membrane_bits is None:
            s = k.lif_full(flat, steps, self.decay, self.threshold, subtract)
        else:
            s = k.lif_quantized(flat, steps, self.decay, self.threshold, self.threshold, self.nf, self.step, subtract)
        return s.reshape((steps,) + current.shape[1:])

    @staticmethod
    def _conv_current(conv: _Conv, a: np.ndarray, divisor: int, counts: bool) -> np.ndarray:
        """Currents [N, H', W', C_out] of ``conv`` on a [N, H, W, C_in] (values a / divisor)."""
        ho, wo = conv.out_size(a.shape[1], a.shape[2])
        if conv.kind == "int8":
            x = a if divisor == 1 else (a / np.float32(divisor)).astype(np.float32)
            return k.dense_conv(np.ascontiguousarray(x, dtype=np.float32), conv.weight, conv.stride, conv.padding,
                                ho, wo, conv.gain, conv.offset)
        planes = max(1, int(a.max()).bit_length()) if counts and a.size else 1
        packed = k.pack_planes(a, planes, conv.padding, (conv.cin + 63) // 64)
        gain = (conv.gain / np.float32(divisor)).astype(np.float32)  # divisor is 1 or k^2: a power of two or exact
        return k.binary_conv(packed, conv.plus, conv.k, conv.stride, ho, wo, gain, conv.offset)

    def _stage_conv(self, conv, a, divisor, steps):
        """conv + BN + LIF on a [T, B, H, W, C] (uint8, values / divisor) -> spikes [T, B, H', W', C']."""
        t, b = a.shape[:2]
        cur = self._conv_current(conv, a.reshape((t * b,) + a.shape[2:]), divisor, divisor > 1)
        return cur.reshape((t, b) + cur.shape[1:])

    def forward(self, x: np.ndarray, *, trace: list | None = None) -> np.ndarray:
        """Readout float32 [T, B, classes] of x [T, B, C, H, W]; see :meth:`__call__`."""
        steps, batch = x.shape[:2]
        frames = np.ascontiguousarray(np.asarray(x, dtype=np.float32).transpose(0, 1, 3, 4, 2))  # NHWC
        a, divisor, first = frames, 1, True
        for op, arg in self.layers:
            if op == "conv":
                if first:  # the analog input: computed once when every step shows the same frame
                    same = steps > 1 and bool(np.all(frames == frames[:1]))
                    src = frames[:1] if same else frames
                    cur = self._conv_current(arg, src.reshape((-1,) + src.shape[2:]), 1, False)
                    cur = cur.reshape((src.shape[0], batch) + cur.shape[1:])
                    first = False
                else:
                    if trace is not None:
                        trace.append((arg, a, divisor))
                    cur = self._stage_conv(arg, a, divisor, steps)
                a, divisor = self._lif(cur, steps), 1
            elif op == "block":
                b1, c2, short = arg
                if trace is not None:
                    trace.append((b1, a, divisor))
                s1 = self._lif(self._stage_conv(b1, a, divisor, steps), steps)
                if trace is not None:
                    trace.append((c2, s1, 1))
                cur = self._stage_conv(c2, s1, 1, steps)
                if short is None:
                    cur = cur + (a.astype(np.float32) / np.float32(divisor))
                else:
                    if trace is not None:
                        trace.append((short, a, divisor))
                    cur = cur + self._stage_conv(short, a, divisor, steps)
                a, divisor = self._lif(np.ascontiguousarray(cur, dtype=np.float32), steps), 1
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
