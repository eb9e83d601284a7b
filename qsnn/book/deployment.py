"""What chapter 9 prints of a deployed Q-SNN (Wei et al., "Q-SNNs: Quantized Spiking Neural Networks",
arXiv:2406.13672): the bytes of a packed file by kind and region, the membrane state one image needs, and the
operations and energy of a forward pass, from :mod:`qsnn.deploy.report`.

The energy uses the customary 45 nm figures per accumulate and per multiply-accumulate of
:mod:`qsnn.deploy.report` (``AC_PJ``, ``MAC_PJ``; Horowitz 2014).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from ..deploy.report import AC_PJ, MAC_PJ

__all__ = ["bytes_text", "anatomy_text", "memory_text", "memory_values", "operations_text", "operation_values"]


def bytes_text(summary: Mapping[str, int], file_bytes: int) -> str:
    """One line per kind of :func:`qsnn.deploy.report.anatomy_summary` (its ``total`` left out): the bytes and
    their share of the file."""
    return "\n".join(f"  {kind:<42} {nbytes:>7,} B  {100 * nbytes / file_bytes:5.1f} %"
                     for kind, nbytes in summary.items() if kind != "total")


def anatomy_text(rows: Sequence[Mapping]) -> str:
    """One line per region of :func:`qsnn.deploy.report.anatomy`: offset, length, region and what it holds."""
    return "\n".join(f"{r['offset']:>7} {r['bytes']:>7}  {r['region']:<28} {r['what']}" for r in rows)


def memory_text(memory: Mapping[str, Mapping]) -> str:
    """One line per network of ``memory`` (label -> :meth:`qsnn.deploy.engine.PackedModel.membrane_state_bytes`):
    its LIF neurons and their state at the stored bit width against float32."""
    return "\n".join(f"{label:<14} {m['neurons']:>8,} LIF neurons: {m['packed_bytes'] / 1e3:8.1f} kB at {m['bits']} "
                     f"bits, {m['float32_bytes'] / 1e3:8.1f} kB in float32 "
                     f"({m['float32_bytes'] / m['packed_bytes']:.0f}x)" for label, m in memory.items())


def memory_values(m: Mapping) -> dict:
    """The numbers the chapter quotes of one network's membrane state: ``neurons``, ``bits``, ``packed_kb`` and
    ``float32_kb``."""
    return {"neurons": m["neurons"], "bits": m["bits"], "packed_kb": m["packed_bytes"] / 1e3,
            "float32_kb": m["float32_bytes"] / 1e3}


def operations_text(ops: Mapping) -> str:
    """The table of :func:`qsnn.deploy.report.operation_counts` (per layer: the ANN's MACs, the Q-SNN's ACs and
    MACs, the input events), then the totals per image and the energy estimate against the ANN and against a
    full-precision SNN that computes every product at every step."""
    lines = [f"{'layer':<12} {'kind':<20} {'ANN MACs':>11} {'Q-SNN ACs':>11} {'Q-SNN MACs':>11} {'input events':>13}"]
    for r in ops["layers"]:
        events = "" if r["input_events"] is None else f"{r['input_events']:>13,.0f}"
        lines.append(f"{r['name']:<12} {r['kind']:<20} {r['dense_macs']:>11,.0f} {r['accumulates']:>11,.0f} "
                     f"{r['macs']:>11,.0f} {events}")
    lines.append(f"in all, per image: {ops['accumulates'] / 1e6:.2f} M ACs + {ops['macs'] / 1e3:.1f} k MACs over T = "
                 f"{ops['time_steps']} steps, against {ops['ann_macs'] / 1e6:.2f} M MACs of the ANN "
                 f"({ops['accumulates'] / ops['ann_macs']:.2f} ACs per ANN MAC)")
    lines.append(f"energy estimate: Q-SNN {ops['energy_pj'] / 1e6:.2f} uJ, ANN {ops['ann_energy_pj'] / 1e6:.2f} uJ "
                 f"({ops['ann_energy_pj'] / ops['energy_pj']:.1f}x less); a full-precision SNN computing every product "
                 f"at all {ops['time_steps']} steps: {ops['fp_snn_energy_pj'] / 1e6:.1f} uJ")
    return "\n".join(lines)


def operation_values(ops: Mapping) -> dict:
    """The numbers the chapter quotes of :func:`qsnn.deploy.report.operation_counts`: the energy per operation
    (pJ), the ACs (millions) and MACs (thousands) per image, the ANN's MACs (millions), ACs per ANN MAC, the energy
    of the Q-SNN and of the ANN (uJ), their ratio and the time steps."""
    return {"ac_pj": AC_PJ, "mac_pj": MAC_PJ, "ops_acs_m": ops["accumulates"] / 1e6, "ops_macs_k": ops["macs"] / 1e3,
            "ann_macs_m": ops["ann_macs"] / 1e6, "acs_per_mac": ops["accumulates"] / ops["ann_macs"],
            "energy_uj": ops["energy_pj"] / 1e6, "ann_energy_uj": ops["ann_energy_pj"] / 1e6,
            "energy_ratio": ops["ann_energy_pj"] / ops["energy_pj"], "ops_steps": ops["time_steps"]}
