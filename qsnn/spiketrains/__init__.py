"""Part I (Moser & Lunglmayr, arXiv:2305.08012): spike trains, the leaky Alexiewicz norm, the LIF neuron
as a quantizer of spike trains, and the Monte-Carlo sweeps of its quantization error.

- :mod:`~qsnn.spiketrains.spikes`: :class:`~qsnn.spiketrains.spikes.SpikeTrain` and random trains.
- :mod:`~qsnn.spiketrains.alexiewicz`: the leaky Alexiewicz norm (Sec. II), exact and batched.
- :mod:`~qsnn.spiketrains.lif_quantizer`: the event-driven LIF neuron and its three resets (Sec. III).
- :mod:`~qsnn.spiketrains.sweeps`: the error sweeps behind Figs. 4 and 5.
- :mod:`~qsnn.spiketrains.theorem_checks`: Theorems 1 and 2 checked on random trains.
- :mod:`~qsnn.spiketrains.symbolic`: the sympy derivations (loads sympy; not imported here).

Only numpy and numba load with this package; ``import qsnn`` re-exports every name below.
"""

from .alexiewicz import (
    alexiewicz_norm,
    alexiewicz_norm_batch,
    alexiewicz_norm_reference,
    discrepancy_norm,
    leaky_partial_sums,
)
from .lif_quantizer import (
    FIRING_RTOL,
    RESETS,
    LIFTrace,
    lif,
    lif_batch,
    lif_reference,
    lif_trace,
    quantization_error,
    quantization_error_batch,
)
from .spikes import SpikeTrain, random_trains
from .sweeps import ErrorSweep, concentration, error_sweep, spike_count_grid, sweep_seed, sweep_trains


__all__ = [
    # Part I: spike trains, the leaky Alexiewicz norm, the LIF quantizer
    "SpikeTrain",
    "random_trains",
    "alexiewicz_norm",
    "alexiewicz_norm_batch",
    "alexiewicz_norm_reference",
    "discrepancy_norm",
    "leaky_partial_sums",
    "RESETS",
    "FIRING_RTOL",
    "LIFTrace",
    "lif",
    "lif_batch",
    "lif_reference",
    "lif_trace",
    "quantization_error",
    "quantization_error_batch",
    # Part I: the Monte-Carlo sweeps of Figs. 4/5
    "ErrorSweep",
    "error_sweep",
    "concentration",
    "spike_count_grid",
    "sweep_trains",
    "sweep_seed",
]
