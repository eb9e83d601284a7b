"""Part I's quantization theory inside Q-SNNs: the multi-step LIF layer as a spike-train quantizer.

At unit time steps the current ``I[t]`` of a Q-SNN layer (Wei et al., arXiv:2406.13672) is a spike train
with one event per step, ``eta = sum_t I[t] delta(. - t)``, and the layer's spikes scaled by the threshold,
``theta S[t]``, are its quantization in the sense of Moser & Lunglmayr (arXiv:2305.08012, Secs. 3-4).
The leak per step is ``decay = exp(-alpha)``; with it, the leaky Alexiewicz norm of the error train
``theta S - I`` is ``max_t |E[t]|`` with ``E[t] = decay E[t-1] + I[t] - theta S[t]`` (``E[-1] = 0``).

Where the layer and Part I's neuron differ (each shown by a counterexample in ``tests/unit/test_bridge.py``):

- one-sided firing: the layer never fires on a negative potential, Part I's neuron fires ``-theta``
  (or a negative multiple of theta for reset-to-mod); only non-negative currents compare;
- the firing rule at equality: "zero" and "subtract" fire at ``H > V_th`` in the layer (the authors'
  code) and at ``|u| >= theta`` in Part I; "mod" emits ``floor(H / V_th)`` in both, but Part I also
  fires within a relative tolerance below a multiple of theta (:data:`qsnn.FIRING_RTOL`);
- a zero current is no event in Part I, so nothing is checked against the threshold there, while the
  layer checks every step: after reset-by-subtraction the potential can stay above the threshold and
  fire again on a zero current;
- the stored state: with ``membrane_bits`` the layer rounds the state kept between steps, which Part I
  does not; :func:`qsnn.bridge.theory.membrane_bound` replaces Theorem 1's ``theta`` for reset-to-mod.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._core.validation import check_choice, check_real, check_reset, check_threshold
from ..nn import lif_multistep
from ..nn.quantizers import MEMBRANE_QUANTIZERS
from ..spiketrains.alexiewicz import alexiewicz_norm_batch
from ..spiketrains.lif_quantizer import lif_batch

__all__ = ["part1_parameters", "layer_parameters", "SideBySide", "run_both", "layer_spikes", "error_norms"]


def _check_decay(decay) -> float:
    return check_real("decay", decay, min=0.0, max=1.0)


def part1_parameters(decay: float, threshold: float) -> tuple[float, float]:
    """Part I's ``(alpha, theta)`` of a layer with leak ``decay`` per unit step and threshold ``V_th``.

    ``alpha = -ln(decay)``: ``decay = 1`` (no leak, the IF neuron) is ``alpha = 0``, ``decay = 0`` (no
    memory between steps) is ``alpha = inf``; ``theta = V_th``.

    Raises
    ------
    ValueError
        If ``decay`` is not in [0, 1] or ``threshold`` is not a finite number > 0.
    """
    decay = _check_decay(decay)
    theta = check_threshold(threshold)
    alpha = math.inf if decay == 0.0 else (0.0 if decay == 1.0 else -math.log(decay))
    return alpha, theta


def layer_parameters(alpha: float, theta: float) -> tuple[float, float]:
    """The layer's ``(decay, threshold)`` for Part I's leak rate ``alpha`` at unit steps and ``theta``.

    ``decay = exp(-alpha)`` (0 for ``alpha = inf``), ``threshold = theta``; the inverse of
    :func:`part1_parameters`.

    Raises
    ------
    ValueError
        If ``alpha`` is negative or NaN or ``theta`` is not a finite number > 0.
    """
    alpha = check_real("alpha", alpha, min=0.0, finite=False)
    theta = check_threshold(theta)
    return (0.0 if math.isinf(alpha) else math.exp(-alpha)), theta


def _as_steps(currents, name: str = "currents") -> np.ndarray:
    """currents as a float64 array [T, N] (a 1-D input is one neuron)."""
    if isinstance(currents, torch.Tensor):
        currents = currents.detach().cpu().numpy()
    x = np.asarray(currents, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must be an array [T] or [T, N] (time first), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def _unit_times(n_rows: int, steps: int) -> np.ndarray:
    return np.broadcast_to(np.arange(float(steps)), (n_rows, steps))


@dataclass(frozen=True)
class SideBySide:
    """Outputs of the layer and of Part I's neuron on the same currents, as amplitudes on the step grid.

    Attributes
    ----------
    currents : ndarray, shape [T, N]
    layer : ndarray, shape [T, N]
        ``theta S[t]`` of :func:`qsnn.nn.lif_multistep` (full-precision membrane).
    part1 : ndarray, shape [T, N]
        Output amplitudes of :func:`qsnn.lif_batch` at times 0, 1, ..., T - 1 with ``alpha = -ln decay``.
    decay, threshold, alpha : float
    reset : str
    """

    currents: np.ndarray
    layer: np.ndarray
    part1: np.ndarray
    decay: float
    threshold: float
    alpha: float
    reset: str

    @property
    def agree(self) -> np.ndarray:
        """bool [N]: the two outputs are equal at every step (exactly)."""
        return np.all(self.layer == self.part1, axis=0)


def run_both(currents, decay: float, threshold: float = 1.0, reset: str = "mod") -> SideBySide:
    """Run the Q-SNN layer and Part I's event-driven LIF on the same currents at unit time steps.

    Parameters
    ----------
    currents : array_like or torch.Tensor, shape [T] or [T, N]
        Input current of each neuron at each step (time first).
    decay : float
        The layer's leak per step, in [0, 1]; Part I runs with ``alpha = -ln decay``.
    threshold : float
        ``V_th = theta`` > 0.
    reset : {"zero", "subtract", "mod"}

    Returns
    -------
    SideBySide
        Equal (``agree`` all True) for non-negative currents without exact ties at the threshold; the
        module docstring lists where they differ.

    Raises
    ------
    ValueError
        For currents that are not finite [T] / [T, N] arrays, or bad parameters.
    """
    x = _as_steps(currents)
    alpha, theta = part1_parameters(decay, threshold)
    reset = check_reset(reset)
    layer = theta * layer_spikes(x, decay, theta, reset)
    part1 = lif_batch(_unit_times(x.shape[1], x.shape[0]), x.T, threshold=theta, alpha=alpha, reset=reset).T
    return SideBySide(currents=x, layer=layer, part1=np.ascontiguousarray(part1), decay=float(decay),
                      threshold=theta, alpha=alpha, reset=reset)


def _flat_tensor(currents) -> tuple[torch.Tensor, tuple]:
    """currents [T, ...] as a CPU tensor [T, N] (float32 kept, anything else float64) and the shape [...]."""
    if isinstance(currents, torch.Tensor):
        c = currents.detach().cpu()
        if c.dtype != torch.float32:
            c = c.double()
    else:
        c = torch.from_numpy(np.asarray(currents, dtype=np.float64))
    if c.ndim < 1:
        raise ValueError(f"currents must have a time axis first, [T, ...], got shape {tuple(c.shape)}")
    if not bool(torch.isfinite(c).all()):
        raise ValueError("currents must be finite")
    shape = tuple(c.shape[1:])
    return c.reshape(c.shape[0], math.prod(shape)), shape


def layer_spikes(currents, decay: float, threshold: float = 1.0, reset: str = "zero", bits: int | None = None,
                 scale: float | None = None, quantizer: str = "uniform") -> np.ndarray:
    """Spike counts ``S[t]`` of the Q-SNN layer on given currents, as a float64 array [T, N].

    A thin wrapper of :func:`qsnn.nn.lif_multistep` (no gradients). A float32 tensor runs in float32, so
    the currents recorded from a float32 network give back its own spikes bit for bit; anything else
    runs in float64.

    Parameters
    ----------
    currents : array_like or torch.Tensor, shape [T, ...]
        Time first; the other axes are flattened into neurons.
    decay, threshold, reset
        As :class:`qsnn.nn.LIF`.
    bits : int or None
        ``membrane_bits`` (None: full-precision state).
    scale : float or None
        ``membrane_scale`` of the uniform quantizer (None: the threshold).
    quantizer : {"uniform", "tanh"}
    """
    x, _ = _flat_tensor(currents)
    check_choice("quantizer", quantizer, MEMBRANE_QUANTIZERS)
    with torch.no_grad():
        s = lif_multistep(x, decay=float(decay), threshold=float(threshold), reset=reset, membrane_bits=bits,
                          membrane_quantizer=quantizer, membrane_scale=None if quantizer == "tanh" else scale)
    return s.double().numpy()


def error_norms(currents, spikes, decay: float, threshold: float = 1.0) -> np.ndarray:
    """Per neuron ``||theta S - I||_{A,alpha} / theta`` at unit steps, ``alpha = -ln decay``.

    One call of Part I's batched kernel (:func:`qsnn.alexiewicz_norm_batch`) over all neurons: the error
    train of neuron j has amplitude ``theta S[t, j] - I[t, j]`` at time t.

    Parameters
    ----------
    currents, spikes : array_like, shape [T, N]
    decay : float
        In [0, 1].
    threshold : float

    Returns
    -------
    ndarray of float64, shape [N]
        0 for neurons whose spikes equal their currents; an empty array for N = 0; zeros for T = 0.

    Raises
    ------
    ValueError
        For arrays of other shapes or non-finite entries, or bad parameters.
    """
    x = _as_steps(currents)
    s = _as_steps(spikes, "spikes")
    if s.shape != x.shape:
        raise ValueError(f"spikes must have the shape of currents {x.shape}, got {s.shape}")
    alpha, theta = part1_parameters(decay, threshold)
    steps, n = x.shape
    if steps == 0 or n == 0:
        return np.zeros(n)
    amps = np.ascontiguousarray((theta * s - x).T)
    return alexiewicz_norm_batch(_unit_times(n, steps), amps, alpha) / theta
