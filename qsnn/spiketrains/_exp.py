"""exp(x) for x <= 0 in plain floating-point arithmetic: one formula for the kernels and the references.

The leaky recursions of Part I need one ``exp(-alpha dt)`` per spike gap. The C library's ``exp`` is a
call the compiler cannot vectorise and costs most of a pass; this version is branch-free arithmetic,
so numba vectorises a loop of it (several gaps per instruction), and :func:`exp_neg_py` repeats the same
operations in Python so that the plain-Python references get bit for bit the same decays.

Method (Cody & Waite reduction, as in Cephes and fdlibm): ``x = k ln2 + r`` with ``k`` the nearest
integer to ``x / ln2`` (found by adding and subtracting 1.5 * 2**52) and ``ln2`` split in a high part
with trailing zeros (``k * LN2_HI`` is exact for ``|k| < 2**11``) and a low part, so ``|r| <= ln2 / 2``
carries no cancellation error; then ``exp(r)`` by its Taylor polynomial of degree 13 (truncation below
5e-18 relative on that interval), evaluated by Horner's rule, and the factor ``2**k`` (in two steps
below ``2**-1000``, where the result is subnormal). Tested against ``math.exp`` to within 2 ulp on
``[-745, 0]`` (``tests/unit/test_alexiewicz.py``). ``x < -746`` gives 0, as ``math.exp`` does.
"""

from __future__ import annotations

import math

from numba import njit, types
from numba.extending import intrinsic

__all__ = ["exp_neg", "exp_neg_py", "decay_py"]

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # 0x3fe62e42fee00000: 32 significant bits
LN2_LO = 1.90821492927058770002e-10
SHIFT = 6755399441055744.0  # 1.5 * 2**52: x + SHIFT - SHIFT rounds x to an integer
X_MIN = -746.0  # exp(-746) < 2**-1075: rounds to 0
#: 1 / j! for j = 13 .. 2 (Horner's rule from the highest degree).
INV_FACT = tuple(1.0 / math.factorial(j) for j in range(13, 1, -1))
C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2 = INV_FACT
TWO_M200 = 2.0 ** -200


@intrinsic
def _pow2(typingctx, k):
    """2.0 ** k for an int64 ``-1022 <= k <= 1023``, by writing the exponent bits."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        i64 = ir.IntType(64)
        bits = builder.shl(builder.add(args[0], ir.Constant(i64, 1023)), ir.Constant(i64, 52))
        return builder.bitcast(bits, ir.DoubleType())

    return sig, codegen


@njit(cache=True, inline="always")
def exp_neg(x):
    """exp(x) for x <= 0 (also exact 1 at x = -0.0); branch-free, so loops of it vectorise."""
    x = max(x, X_MIN)
    kf = (x * LOG2E + SHIFT) - SHIFT
    r = (x - kf * LN2_HI) - kf * LN2_LO
    p = C13
    p = p * r + C12
    p = p * r + C11
    p = p * r + C10
    p = p * r + C9
    p = p * r + C8
    p = p * r + C7
    p = p * r + C6
    p = p * r + C5
    p = p * r + C4
    p = p * r + C3
    p = p * r + C2
    p = p * r + 1.0
    p = p * r + 1.0
    k = int(kf)
    tiny = k < -1000
    s1 = _pow2(k + 200 if tiny else k)
    s2 = TWO_M200 if tiny else 1.0
    return (p * s1) * s2


def exp_neg_py(x: float) -> float:
    """:func:`exp_neg` in plain Python, the same operations in the same order (bit for bit equal)."""
    x = max(x, X_MIN)
    kf = (x * LOG2E + SHIFT) - SHIFT
    r = (x - kf * LN2_HI) - kf * LN2_LO
    p = C13
    for c in INV_FACT[1:]:
        p = p * r + c
    p = p * r + 1.0
    p = p * r + 1.0
    k = int(kf)
    tiny = k < -1000
    s1 = 2.0 ** (k + 200 if tiny else k)
    s2 = TWO_M200 if tiny else 1.0
    return (p * s1) * s2


def decay_py(alpha: float, dt: float) -> float:
    """The kernels' decay ``exp(-alpha dt)`` in plain Python: 1 for dt = 0 or alpha = 0, 0 for alpha = inf."""
    if dt == 0.0 or alpha == 0.0:
        return 1.0
    if math.isinf(alpha):
        return 0.0
    return exp_neg_py(-alpha * dt)
