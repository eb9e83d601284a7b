"""One description of a LIF layer's settings: :class:`LIFSpec`, validated once where it is made.

A LIF layer of Part II (:class:`qsnn.nn.LIF`) is set by eight values: threshold, decay, reset, the
membrane's bit width and quantizer, the quantizer's scale, the spike's surrogate gradient and whether
the reset is detached. They travel together as one frozen :class:`LIFSpec` (as Norse's
``LIFParameters`` do) from :func:`qsnn.models.build` to the layer, its autograd functions, the cache
of compiled kernels and the packed engine of :mod:`qsnn.deploy`; the values derived from them (the
levels per side, the quantizer's step, the compiled kernel's key) are computed here and nowhere else.

The module needs neither torch nor numba, so the packed engine uses it without PyTorch.
"""

from __future__ import annotations

import dataclasses
import math

from .._core.resets import RESETS
from .._core.validation import check_bool, check_choice, check_threshold

__all__ = ["LIFSpec", "MEMBRANE_QUANTIZERS", "SURROGATES", "check_bits", "levels_per_side"]

#: Membrane quantizers: ``"uniform"`` (Q_b with a scale), ``"tanh"`` (the authors' variant, Q_b of tanh U
#: with the step's max ``|tanh U|`` as scale).
MEMBRANE_QUANTIZERS = ("uniform", "tanh")
#: Surrogate gradients of the spike (see :mod:`qsnn.nn.surrogate`).
SURROGATES = ("triangle", "sigmoid", "atan")


def check_bits(bits, name: str = "bits", low: int = 2) -> int:
    """Validate a bit width: an integer >= ``low`` (b = 1 is not defined by the Q_b formula).

    Raises
    ------
    ValueError
        Naming ``name``, the value and what is allowed.
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or bits < low:
        extra = " (b = 1 leaves no level besides 0 in Q_b)" if bits == 1 and low == 2 else ""
        raise ValueError(f"{name} must be an integer >= {low}, got {bits!r}{extra}")
    return bits


def levels_per_side(bits: int) -> int:
    """n = 2**(b-1) - 1, the number of non-zero levels on each side of the symmetric quantizer."""
    return 2 ** (check_bits(bits) - 1) - 1


def _finite_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclasses.dataclass(frozen=True)
class LIFSpec:
    """The settings of a multi-step LIF layer (Wei et al. 2024, Eq. 1-3), checked when the object is made.

    Parameters
    ----------
    threshold : float
        V_th > 0 (1.0).
    decay : float
        lambda in [0, 1], the leak per step (0.5; 1 = no leak). For a leak rate alpha at unit steps,
        ``decay = exp(-alpha)``.
    reset : {"zero", "subtract", "mod"}
        How the membrane is re-initialised after a spike (:data:`qsnn.nn.RESETS`).
    bits : int or None
        b >= 2: the state is stored as Q_b(U) (the layer's ``membrane_bits``); None: full precision.
    quantizer : {"uniform", "tanh"}
        The membrane quantizer (the layer's ``membrane_quantizer``; ignored without ``bits``).
    scale : float, "calibrated" or None
        Scale of the uniform quantizer (the layer's ``membrane_scale``): None (the threshold), a
        finite number > 0, or ``"calibrated"`` (a running estimate the layer keeps).
    surrogate : {"triangle", "sigmoid", "atan"}
        The spike's surrogate gradient.
    detach_reset : bool
        Stop the gradient through the reset's dependence on the spike.

    Raises
    ------
    ValueError
        Naming the field (and the layer's argument it comes from), the value and what is allowed.
    """

    threshold: float = 1.0
    decay: float = 0.5
    reset: str = "zero"
    bits: int | None = None
    quantizer: str = "uniform"
    scale: float | str | None = None
    surrogate: str = "triangle"
    detach_reset: bool = False

    def __post_init__(self):
        set_ = object.__setattr__  # frozen: the checked values replace the given ones once, here
        set_(self, "threshold", check_threshold(self.threshold))
        if not _finite_number(self.decay) or not 0.0 <= self.decay <= 1.0:
            raise ValueError(f"decay must be a number in [0, 1], got {self.decay!r}")
        set_(self, "decay", float(self.decay))
        check_choice("reset", self.reset, RESETS)
        if self.bits is not None:
            check_bits(self.bits, "membrane_bits")
        check_choice("membrane_quantizer", self.quantizer, MEMBRANE_QUANTIZERS)
        scale = self.scale
        if not (scale is None or scale == "calibrated" or (_finite_number(scale) and scale > 0)):
            raise ValueError(f"membrane_scale must be None, 'calibrated' or a finite number > 0, got {scale!r}")
        if _finite_number(scale):
            set_(self, "scale", float(scale))
        if self.surrogate not in SURROGATES:
            raise ValueError(f"surrogate must be one of {', '.join(map(repr, SURROGATES))}, got {self.surrogate!r}")
        set_(self, "detach_reset", check_bool("detach_reset", self.detach_reset))

    @property
    def levels(self) -> int:
        """n, the non-zero levels per side of the membrane quantizer (0: full precision)."""
        return 0 if self.bits is None else 2 ** (self.bits - 1) - 1

    @property
    def fixed_scale(self) -> float | None:
        """The uniform quantizer's scale when it is fixed (the threshold for None); None if calibrated."""
        if self.scale == "calibrated":
            return None
        return self.threshold if self.scale is None else self.scale

    @property
    def active_quantizer(self) -> str | None:
        """The quantizer that acts on the membrane: ``quantizer``, or None at full precision."""
        return None if self.bits is None else self.quantizer

    def step(self, scale: float) -> float:
        """The uniform quantizer's level spacing ``scale / n`` (1.0 at full precision, where it is unused)."""
        return scale / self.levels if self.levels else 1.0

    @property
    def kernel_key(self) -> tuple:
        """What selects a compiled kernel: ``(reset, active quantizer, surrogate, detach_reset)``; the
        numbers (threshold, decay, scale) are the kernels' arguments."""
        return (self.reset, self.active_quantizer, self.surrogate, self.detach_reset)

    def to_dict(self) -> dict:
        """The eight fields as a plain dict (JSON/YAML-ready); :meth:`from_dict` reads it back."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "LIFSpec":
        """The spec of a dict with (some of) the eight fields; missing fields take their defaults.

        Raises
        ------
        TypeError
            If ``values`` is not a dict.
        ValueError
            Unknown keys (the message lists the fields), or an invalid value.
        """
        if not isinstance(values, dict):
            raise TypeError(f"a LIFSpec is read from a dict, got {type(values).__name__}")
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(f"unknown LIFSpec field(s) {', '.join(map(repr, unknown))}; the fields are {', '.join(fields)}")
        return cls(**values)

    @classmethod
    def from_layer_args(cls, threshold=1.0, decay=0.5, reset="zero", membrane_bits=None,
                        membrane_quantizer="uniform", membrane_scale=None, surrogate="triangle",
                        detach_reset=False) -> "LIFSpec":
        """The spec of :class:`qsnn.nn.LIF`'s keyword arguments (``membrane_bits`` -> ``bits``, ...)."""
        return cls(threshold=threshold, decay=decay, reset=reset, bits=membrane_bits, quantizer=membrane_quantizer,
                   scale=membrane_scale, surrogate=surrogate, detach_reset=detach_reset)
