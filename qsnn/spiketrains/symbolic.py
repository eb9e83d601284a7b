"""The symbolic derivations of Part I, as sympy objects that the chapters display and the tests check.

Every function returns sympy expressions (or lists / matrices of them) for a train of ``n`` symbolic
spikes :math:`\\eta = \\sum_i a_i \\delta(t - t_i)`. A claimed identity is returned as its *residual*
(left-hand side minus right-hand side): the claim holds when ``sympy.simplify`` of the residual is
zero, which is what ``tests/unit/test_symbolic.py`` checks and what the chapters show.

Contents, in the order of the chapters:

- the leaky Alexiewicz norm from its definition (Moser & Lunglmayr, arXiv:2305.08012, Sec. 2):
  :func:`partial_sums_definition`, :func:`norm_definition`;
- the O(N) recursion :math:`U_k = e^{-\\alpha (t_k - t_{k-1})} U_{k-1} + a_k` derived from it, for every
  ``k`` (:func:`recursion_step_residual`) and unrolled for ``n`` spikes (:func:`recursion_residuals`);
- the limits :math:`\\alpha \\to 0` (classical Alexiewicz norm) and :math:`\\alpha \\to \\infty`
  (:math:`\\max_i |a_i|`): :func:`limit_alpha_zero`, :func:`limit_alpha_infinity`;
- the linear map :math:`a \\mapsto U` as a unit lower-triangular matrix and its bidiagonal inverse
  (norm axioms and the bound :math:`\\tfrac12 \\max|a_i| \\le \\lVert\\eta\\rVert_{A,\\alpha}`):
  :func:`partial_sum_matrix`, :func:`amplitudes_from_partial_sums`;
- the invariances under time shift and under :math:`(t, \\alpha) \\to (c t, \\alpha / c)`:
  :func:`invariance_residuals`;
- Theorem 1's error identity (the leaky partial sums of :math:`\\eta - \\mathrm{LIF}(\\eta)` equal the
  post-reset potential for a reset that subtracts what it emits), its induction step and its failure
  for reset-to-zero: :func:`error_identity_step_residual`, :func:`error_identity_residuals`,
  :func:`reset_to_zero_error_gap`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from .._core.validation import check_choice, check_int

__all__ = [
    "SpikeSymbols",
    "spike_symbols",
    "decay",
    "partial_sums_definition",
    "norm_definition",
    "partial_sums_recursive",
    "recursion_step_residual",
    "recursion_residuals",
    "limit_alpha_zero",
    "limit_alpha_infinity",
    "partial_sum_matrix",
    "amplitudes_from_partial_sums",
    "invariance_residuals",
    "lif_potentials",
    "error_identity_step_residual",
    "error_identity_residuals",
    "reset_to_zero_error_gap",
    "latex",
]

#: The leak rate; nonnegative (alpha in [0, inf], arXiv:2305.08012, Sec. 2).
ALPHA = sp.Symbol("alpha", nonnegative=True)


@dataclass(frozen=True)
class SpikeSymbols:
    """Symbols of a train of ``n`` spikes.

    Attributes
    ----------
    t : tuple of sympy.Symbol, length n
        Spike times :math:`t_1, \\dots, t_n` (real).
    a : tuple of sympy.Symbol, length n
        Input amplitudes :math:`a_1, \\dots, a_n` (real, either sign).
    b : tuple of sympy.Symbol, length n
        Output amplitudes of a LIF neuron :math:`b_1, \\dots, b_n` (real; whatever the reset emits).
    tau : tuple of sympy.Symbol, length n - 1
        Positive gaps :math:`\\tau_k = t_k - t_{k-1}`, k = 2..n (used where the order of times matters).
    alpha : sympy.Symbol
        The leak rate :math:`\\alpha \\ge 0`.
    """

    t: tuple
    a: tuple
    b: tuple
    tau: tuple
    alpha: sp.Symbol

    @property
    def n(self) -> int:
        """Number of spikes."""
        return len(self.t)

    def times_from_gaps(self) -> dict:
        """Substitution :math:`t_k \\to t_1 + \\tau_2 + \\dots + \\tau_k` (strictly increasing times)."""
        sub, acc = {}, self.t[0]
        for k in range(1, self.n):
            acc = acc + self.tau[k - 1]
            sub[self.t[k]] = acc
        return sub


def _check_n(n: int) -> int:
    return check_int("n", n, min=1)  # the number of spikes


def spike_symbols(n: int) -> SpikeSymbols:
    """Symbols :math:`t_i, a_i, b_i` (i = 1..n), gaps :math:`\\tau_k` (k = 2..n) and :math:`\\alpha`.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer.
    """
    _check_n(n)
    t = tuple(sp.symbols(f"t_1:{n + 1}", real=True))
    a = tuple(sp.symbols(f"a_1:{n + 1}", real=True))
    b = tuple(sp.symbols(f"b_1:{n + 1}", real=True))
    tau = tuple(sp.symbols(f"tau_2:{n + 1}", positive=True)) if n > 1 else ()
    return SpikeSymbols(t=t, a=a, b=b, tau=tau, alpha=ALPHA)


def decay(alpha: sp.Expr, dt: sp.Expr) -> sp.Expr:
    """The leak factor :math:`e^{-\\alpha\\,\\Delta t}` between two spikes ``dt`` apart."""
    return sp.exp(-alpha * dt)


def partial_sums_definition(n: int, amplitudes=None) -> list:
    """Leaky partial sums from the definition: :math:`S_k = \\sum_{i \\le k} a_i e^{-\\alpha (t_k - t_i)}`.

    Parameters
    ----------
    n : int
        Number of spikes.
    amplitudes : sequence of sympy expressions, length n, optional
        Amplitudes to sum (default: the symbols :math:`a_i`); pass e.g. ``a_i - b_i`` for an error train.

    Returns
    -------
    list of sympy.Expr, length n
        :math:`S_1, \\dots, S_n`; :math:`S_k` is the free (never reset) potential just after spike k.
    """
    s = spike_symbols(n)
    amps = s.a if amplitudes is None else tuple(amplitudes)
    if len(amps) != n:
        raise ValueError(f"amplitudes must have n={n} entries, got {len(amps)}")
    return [sp.Add(*[amps[i] * decay(s.alpha, s.t[k] - s.t[i]) for i in range(k + 1)])
            for k in range(n)]


def norm_definition(n: int) -> sp.Expr:
    """The leaky Alexiewicz norm of ``n`` symbolic spikes: :math:`\\max_k |S_k|` (arXiv:2305.08012, Sec. 2)."""
    return sp.Max(*[sp.Abs(s_k) for s_k in partial_sums_definition(n)])


def partial_sums_recursive(n: int, amplitudes=None) -> list:
    """Partial sums from the O(N) recursion :math:`U_1 = a_1`, :math:`U_k = e^{-\\alpha(t_k - t_{k-1})} U_{k-1} + a_k`.

    Returns the unrolled expressions :math:`U_1, \\dots, U_n` (nested, not expanded).
    """
    s = spike_symbols(n)
    amps = s.a if amplitudes is None else tuple(amplitudes)
    if len(amps) != n:
        raise ValueError(f"amplitudes must have n={n} entries, got {len(amps)}")
    out = [amps[0]]
    for k in range(1, n):
        out.append(decay(s.alpha, s.t[k] - s.t[k - 1]) * out[-1] + amps[k])
    return out


def recursion_step_residual() -> sp.Expr:
    """Residual of the recursion step for a general index ``k``.

    With :math:`S_k = \\sum_{i=1}^{k} a_i e^{-\\alpha(t_k - t_i)}`, peel the last term off,
    :math:`S_k = a_k + \\sum_{i=1}^{k-1} a_i e^{-\\alpha(t_k - t_i)}`, and subtract
    :math:`e^{-\\alpha(t_k - t_{k-1})} S_{k-1} = \\sum_{i=1}^{k-1} a_i e^{-\\alpha(t_k - t_{k-1})}
    e^{-\\alpha(t_{k-1} - t_i)}`: both sums run over the same indices, so the difference is one sum
    whose summand is returned here. It simplifies to 0 for every ``i`` and ``k`` (the exponentials
    multiply), which proves :math:`S_k = e^{-\\alpha(t_k - t_{k-1})} S_{k-1} + a_k` for all ``k >= 2``.

    Returns
    -------
    sympy.Sum
        :math:`\\sum_{i=1}^{k-1} a_i \\left(e^{-\\alpha(t_k - t_i)} - e^{-\\alpha(t_k - t_{k-1})}
        e^{-\\alpha(t_{k-1} - t_i)}\\right)` with indexed symbols ``a[i]``, ``t[i]``; apply
        ``sympy.simplify`` (or ``powsimp`` of the summand) to see 0.
    """
    i, k = sp.symbols("i k", integer=True, positive=True)
    a, t = sp.IndexedBase("a", real=True), sp.IndexedBase("t", real=True)
    summand = a[i] * (decay(ALPHA, t[k] - t[i]) - decay(ALPHA, t[k] - t[k - 1]) * decay(ALPHA, t[k - 1] - t[i]))
    return sp.Sum(summand, (i, 1, k - 1))


def recursion_residuals(n: int) -> list:
    """Residuals :math:`S_k - U_k`, definition minus recursion, for ``k = 1..n`` (each simplifies to 0)."""
    return [d - r for d, r in zip(partial_sums_definition(n), partial_sums_recursive(n))]


def _per_term_limit(expr: sp.Expr, s: SpikeSymbols, value) -> sp.Expr:
    """Limit of a sum of exponentials term by term, with the times written through positive gaps."""
    expr = sp.expand(sp.powsimp(expr.subs(s.times_from_gaps())))
    terms = sp.Add.make_args(expr)
    return sp.Add(*[sp.limit(term, s.alpha, value) for term in terms])


def limit_alpha_zero(n: int) -> tuple:
    """The limit :math:`\\alpha \\to 0^+`: the classical Alexiewicz norm.

    Returns
    -------
    partial_sums : list of sympy.Expr
        :math:`\\lim S_k = a_1 + \\dots + a_k` (plain partial sums).
    norm : sympy.Expr
        :math:`\\max_k |a_1 + \\dots + a_k|`.
    """
    s = spike_symbols(n)
    sums = [_per_term_limit(e, s, 0) for e in partial_sums_definition(n)]
    return sums, sp.Max(*[sp.Abs(e) for e in sums])


def limit_alpha_infinity(n: int) -> tuple:
    """The limit :math:`\\alpha \\to \\infty` for strictly increasing times: :math:`\\max_i |a_i|`.

    Every term :math:`a_i e^{-\\alpha(t_k - t_i)}` with :math:`i < k` has :math:`t_k - t_i > 0` and
    vanishes; the term :math:`i = k` is :math:`a_k` for every :math:`\\alpha` (the decay over a zero
    gap is 1, never :math:`\\infty \\cdot 0`). The limit is taken per term.

    Returns
    -------
    partial_sums : list of sympy.Expr
        :math:`\\lim S_k = a_k`.
    norm : sympy.Expr
        :math:`\\max_k |a_k|`.
    """
    s = spike_symbols(n)
    sums = [_per_term_limit(e, s, sp.oo) for e in partial_sums_definition(n)]
    return sums, sp.Max(*[sp.Abs(e) for e in sums])


def partial_sum_matrix(n: int) -> sp.Matrix:
    """The linear map :math:`a \\mapsto U = L a` as an ``n x n`` matrix.

    :math:`L_{ki} = e^{-\\alpha(t_k - t_i)}` for :math:`i \\le k` and 0 above the diagonal: lower
    triangular with unit diagonal, so :math:`\\det L = 1` for every :math:`\\alpha` and every times.
    The map is linear and injective, hence :math:`\\max_k |(L a)_k|` is a norm (not only a semi-norm).
    """
    s = spike_symbols(n)
    return sp.Matrix(n, n, lambda k, i: decay(s.alpha, s.t[k] - s.t[i]) if i <= k else 0)


def amplitudes_from_partial_sums(n: int) -> sp.Matrix:
    """The inverse map :math:`U \\mapsto a = L^{-1} U`: bidiagonal, :math:`a_k = U_k - e^{-\\alpha(t_k - t_{k-1})} U_{k-1}`.

    Each row has absolute sum :math:`1 + e^{-\\alpha(t_k - t_{k-1})} \\le 2`, which gives
    :math:`|a_k| \\le 2 \\max_j |U_j|`, i.e. :math:`\\tfrac12 \\max_k |a_k| \\le \\lVert\\eta\\rVert_{A,\\alpha}`.
    Computed by inverting :func:`partial_sum_matrix` and simplifying each entry.
    """
    return partial_sum_matrix(n).inv().applyfunc(lambda e: sp.simplify(sp.powsimp(e)))


def invariance_residuals(n: int) -> dict:
    """Residuals of the two invariances of the leaky partial sums (each entry simplifies to 0).

    Returns
    -------
    dict
        ``"time_shift"``: :math:`S_k(t + c) - S_k(t)`; ``"time_scale"``:
        :math:`S_k(c\\,t, \\alpha / c) - S_k(t, \\alpha)` for a positive constant :math:`c`; lists of length n.
    """
    s = spike_symbols(n)
    c = sp.Symbol("c", positive=True)
    sums = partial_sums_definition(n)
    shift = {t: t + c for t in s.t}
    scale = {**{t: c * t for t in s.t}, s.alpha: s.alpha / c}
    return {
        "time_shift": [e.subs(shift, simultaneous=True) - e for e in sums],
        "time_scale": [e.subs(scale, simultaneous=True) - e for e in sums],
    }


def lif_potentials(n: int, reset: str = "subtract") -> tuple:
    """Potentials of a LIF neuron on ``n`` symbolic spikes, with symbolic output amplitudes :math:`b_k`.

    Dynamics (arXiv:2305.08012, Sec. 3): :math:`u^{pre}_k = e^{-\\alpha(t_k - t_{k-1})} u^{post}_{k-1} + a_k`
    (:math:`u^{post}_0 = 0`). The reset decides :math:`u^{post}_k`:

    - ``"subtract"`` or ``"mod"``: :math:`u^{post}_k = u^{pre}_k - b_k`, the neuron
      subtracts exactly what it emits; :math:`b_k` is left symbolic, so the identity below holds
      whatever rule chooses it (:math:`\\pm\\vartheta`, :math:`q(u)`, or 0 when nothing fires);
    - ``"zero"``: :math:`u^{post}_k = u^{pre}_k - b_k - r_k` with the discarded remainder
      :math:`r_k = u^{pre}_k - b_k` when spike k fires; here every :math:`r_k` is a symbol
      :math:`r_k` (set it to 0 for events that do not fire).

    Returns
    -------
    u_pre, u_post : list of sympy.Expr, length n

    Raises
    ------
    ValueError
        If ``reset`` is not ``"subtract"``, ``"mod"`` or ``"zero"``.
    """
    check_choice("reset", reset, ("subtract", "mod", "zero"))
    s = spike_symbols(n)
    r = sp.symbols(f"r_1:{n + 1}", real=True)
    u_pre, u_post, prev = [], [], sp.Integer(0)
    for k in range(n):
        pre = (decay(s.alpha, s.t[k] - s.t[k - 1]) * prev if k else sp.Integer(0)) + s.a[k]
        post = pre - s.b[k] - (r[k] if reset == "zero" else 0)
        u_pre.append(pre)
        u_post.append(post)
        prev = post
    return u_pre, u_post


def error_identity_step_residual() -> sp.Expr:
    """Induction step of the error identity behind Theorem 1, as a residual that is 0 under the hypothesis.

    Let :math:`E_k` (printed :math:`\\Delta_k`) be the leaky partial sum of the error train :math:`\\eta - \\mathrm{LIF}(\\eta)`
    (amplitudes :math:`a_k - b_k`) at :math:`t_k`. By the recursion of the norm,
    :math:`E_k = d_k E_{k-1} + a_k - b_k` with :math:`d_k = e^{-\\alpha(t_k - t_{k-1})}`. A reset that
    subtracts what it emits has :math:`u^{post}_k = d_k u^{post}_{k-1} + a_k - b_k`. Hence
    :math:`E_k - u^{post}_k = d_k (E_{k-1} - u^{post}_{k-1})`: the returned expression is
    :math:`(E_k - u^{post}_k) - d_k (E_{k-1} - u^{post}_{k-1})`, which simplifies to 0. With the base case
    :math:`E_1 = a_1 - b_1 = u^{post}_1`, induction gives :math:`E_k = u^{post}_k` for all k.
    """
    e_prev, u_prev, a_k, b_k = sp.symbols("Delta_k-1 u^post_k-1 a_k b_k", real=True)
    d_k = sp.Symbol("d_k", positive=True)
    e_k = d_k * e_prev + a_k - b_k
    u_k = d_k * u_prev + a_k - b_k
    return (e_k - u_k) - d_k * (e_prev - u_prev)


def error_identity_residuals(n: int) -> list:
    """Residuals :math:`E_k - u^{post}_k` for ``n`` symbolic spikes and a subtractive reset (each is 0).

    :math:`E_k` comes from the definition of the leaky partial sums applied to the error train with
    amplitudes :math:`a_i - b_i`; :math:`u^{post}_k` from unrolling the LIF dynamics
    (:func:`lif_potentials` with ``reset="subtract"``).
    """
    s = spike_symbols(n)
    errors = partial_sums_definition(n, [a - b for a, b in zip(s.a, s.b)])
    _, u_post = lif_potentials(n, "subtract")
    return [e - u for e, u in zip(errors, u_post)]


def reset_to_zero_error_gap(n: int) -> list:
    """For reset-to-zero: :math:`E_k - u^{post}_k` equals the leaky sum of the discarded remainders.

    Returns the residuals :math:`E_k - u^{post}_k - \\sum_{i \\le k} r_i e^{-\\alpha(t_k - t_i)}`
    (each simplifies to 0). So the error of reset-to-zero is the post-reset potential (0 after a
    spike) *plus* every remainder it threw away, decayed: at :math:`\\alpha = 0` nothing decays and the
    error can grow without bound, which is why Theorem 1 needs a reset that keeps the remainder.
    """
    s = spike_symbols(n)
    r = sp.symbols(f"r_1:{n + 1}", real=True)
    errors = partial_sums_definition(n, [a - b for a, b in zip(s.a, s.b)])
    _, u_post = lif_potentials(n, "zero")
    discarded = partial_sums_definition(n, r)
    return [e - u - g for e, u, g in zip(errors, u_post, discarded)]


# sympy orders the time difference t_k - t_i as "- t_i + t_k"; the book prints it the way the paper does.
_TIME = r"((?:\{t\}|t)_\{[^{}]+\})"
_REVERSED_DIFFERENCE = re.compile(r"- " + _TIME + r" \+ " + _TIME)


def latex(expr) -> str:
    """LaTeX of a sympy object with time differences written :math:`t_k - t_i` (not :math:`-t_i + t_k`).

    Parameters
    ----------
    expr : sympy object
        Any expression, matrix or sum of this module.

    Returns
    -------
    str
        ``sympy.latex(expr)`` with every ``- t_i + t_k`` rewritten as ``t_k - t_i``.
    """
    return _REVERSED_DIFFERENCE.sub(r"\2 - \1", sp.latex(expr))
