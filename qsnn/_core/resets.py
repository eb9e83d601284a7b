"""The reset variants of the LIF neuron: one source of names, kernel codes and display labels.

Both parts of the book use the same three names (Moser & Lunglmayr, arXiv:2305.08012, Sec. 3):

- ``"zero"``: reset to zero after a spike (hard reset; the Q-SNN paper's neuron, Wei et al., Eq. 2;
  snnTorch ``reset_mechanism="zero"``, SpikingJelly ``v_reset=0.0``);
- ``"subtract"``: reset by subtracting the threshold once (soft reset; snnTorch ``"subtract"``,
  SpikingJelly ``v_reset=None``);
- ``"mod"``: reset to the remainder modulo the threshold, emitting as many threshold-sized spikes as fit
  (Part I's reset-to-mod; no counterpart in snnTorch or SpikingJelly, whose neurons emit at most one
  spike per step).
"""

from __future__ import annotations

__all__ = ["RESETS", "RESET_CODES", "RESET_LABELS"]

#: The re-initialisation variants, in the order in which arXiv:2305.08012, Sec. 3 introduces them.
RESETS = ("zero", "subtract", "mod")
#: Integer codes the numba kernels of both parts use.
RESET_CODES = {"zero": 0, "subtract": 1, "mod": 2}
#: Labels for figures and tables.
RESET_LABELS = {"zero": "reset-to-zero", "subtract": "reset-by-subtraction", "mod": "reset-to-mod"}
