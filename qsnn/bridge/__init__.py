"""Part I's quantization theory inside Q-SNNs: the multi-step LIF layer as a spike-train quantizer.

- :mod:`qsnn.bridge.layer`: the layer and Part I's neuron side by side on the same currents, and the
  leaky Alexiewicz norm of the layer's quantization error.
- :mod:`qsnn.bridge.theory`: Theorem 1 with a b-bit stored membrane, its derivation and its tightness.
- :mod:`qsnn.bridge.measurements`: the same norms measured inside trained networks.
"""

from .._core.extras import require_extra

require_extra("torch", "qsnn.bridge", modules=("torch",))  # a message naming the extra, not a bare ModuleNotFoundError

from .layer import SideBySide, error_norms, layer_parameters, layer_spikes, part1_parameters, run_both  # noqa: E402
from .measurements import (  # noqa: E402
    LayerCurrents,
    error_statistics_text,
    error_summary,
    layer_currents,
    network_error_statistics,
    network_quantization_errors,
    nonnegative_neurons,
    quantization_errors,
    spike_costs,
)
from .theory import (  # noqa: E402
    MembraneBoundDerivation,
    Tightness,
    adversarial_currents,
    membrane_bound,
    membrane_bound_derivation,
    rounding_step,
    tightness_search,
)

__all__ = [
    "part1_parameters",
    "layer_parameters",
    "SideBySide",
    "run_both",
    "layer_spikes",
    "error_norms",
    "rounding_step",
    "membrane_bound",
    "MembraneBoundDerivation",
    "membrane_bound_derivation",
    "adversarial_currents",
    "Tightness",
    "tightness_search",
    "LayerCurrents",
    "layer_currents",
    "quantization_errors",
    "network_quantization_errors",
    "nonnegative_neurons",
    "error_summary",
    "network_error_statistics",
    "error_statistics_text",
    "spike_costs",
]
