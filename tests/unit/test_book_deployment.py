"""Tests of qsnn.book.deployment: the lines chapter 9 prints of a packed file, its membrane state and its operations,
and the values it quotes, on reports made by hand (golden lines) and on a packed network (against its anatomy)."""

import pytest
import torch

from qsnn.book import deployment
from qsnn.deploy.report import AC_PJ, MAC_PJ

OPS = {"layers": [{"name": "features.0", "kind": "int8 conv (MAC)", "dense_macs": 56448, "accumulates": 0,
                   "macs": 56448, "input_events": None},
                  {"name": "features.1", "kind": "binary conv (AC)", "dense_macs": 903168, "accumulates": 840577,
                   "macs": 0, "input_events": 6222}],
       "accumulates": 6.15e6, "macs": 59.0e3, "time_steps": 4, "ann_macs": 7.04e6,
       "energy_pj": AC_PJ * 6.15e6 + MAC_PJ * 59.0e3, "ann_energy_pj": MAC_PJ * 7.04e6, "fp_snn_energy_pj": 129.6e6}


def test_operations_text_golden_lines():
    lines = deployment.operations_text(OPS).splitlines()
    assert lines[0] == "layer        kind                    ANN MACs   Q-SNN ACs  Q-SNN MACs  input events"
    assert lines[1] == "features.0   int8 conv (MAC)           56,448           0      56,448 "
    assert lines[2] == "features.1   binary conv (AC)         903,168     840,577           0         6,222"
    assert lines[3] == ("in all, per image: 6.15 M ACs + 59.0 k MACs over T = 4 steps, against 7.04 M MACs of the ANN "
                        "(0.87 ACs per ANN MAC)")
    assert lines[4].startswith(f"energy estimate: Q-SNN {OPS['energy_pj'] / 1e6:.2f} uJ, ANN 32.38 uJ")
    assert lines[4].endswith("a full-precision SNN computing every product at all 4 steps: 129.6 uJ")


def test_operation_values():
    v = deployment.operation_values(OPS)
    assert (v["ac_pj"], v["mac_pj"], v["ops_steps"]) == (AC_PJ, MAC_PJ, 4)
    assert v["ops_acs_m"] == pytest.approx(6.15) and v["ops_macs_k"] == pytest.approx(59.0)
    assert v["acs_per_mac"] == pytest.approx(6.15 / 7.04)
    assert v["energy_ratio"] == pytest.approx(OPS["ann_energy_pj"] / OPS["energy_pj"])


def test_memory_text_and_values():
    m = {"neurons": 38784, "bits": 4, "packed_bytes": 19392, "float32_bytes": 155136}
    assert deployment.memory_text({"fashion_mnist": m}) == (
        "fashion_mnist    38,784 LIF neurons:     19.4 kB at 4 bits,    155.1 kB in float32 (8x)")
    assert deployment.memory_values(m) == {"neurons": 38784, "bits": 4, "packed_kb": pytest.approx(19.392),
                                           "float32_kb": pytest.approx(155.136)}


def test_bytes_and_anatomy_text_of_a_packed_network(tmp_path):
    from qsnn.deploy import export
    from qsnn.deploy.report import anatomy, anatomy_summary
    from qsnn.models import build

    torch.manual_seed(0)
    net = build("small", num_classes=10, in_channels=1, input_size=(8, 8), widths=[4, 6, 8], membrane_bits=2).eval()
    path = export(net, tmp_path / "small.qsnn")
    summary, rows = anatomy_summary(path), anatomy(path)
    size = path.stat().st_size
    lines = deployment.bytes_text(summary, size).splitlines()
    assert len(lines) == len(summary) - 1  # every kind but the total
    assert lines[0] == f"  {'header':<42} {summary['header']:>7,} B  {100 * summary['header'] / size:5.1f} %"
    text = deployment.anatomy_text(rows).splitlines()
    assert len(text) == len(rows) and text[0] == "      0       8  magic                        b'QSNNPK\\r\\n'"
