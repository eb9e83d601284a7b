"""Tests of qsnn.nn.lifspec.LIFSpec: checked once where it is made, the values derived from it, its dict form,
and its use by the layer, models.build and the packed format."""

from __future__ import annotations

import dataclasses

import pytest

from qsnn.nn.lifspec import LIFSpec


def test_defaults_are_the_q_snn_neuron():
    """The defaults: threshold 1, decay 0.5, hard reset, full precision, triangle surrogate."""
    spec = LIFSpec()
    assert (spec.threshold, spec.decay, spec.reset, spec.bits, spec.surrogate, spec.detach_reset) == (
        1.0, 0.5, "zero", None, "triangle", False)


def test_spec_is_frozen():
    """A spec cannot be changed after it was checked."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        LIFSpec().threshold = 2.0


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(threshold=0.0), "threshold"),
    (dict(decay=1.5), "decay"),
    (dict(decay=True), "decay"),
    (dict(reset="hard"), "reset"),
    (dict(bits=1), "membrane_bits"),
    (dict(bits=2.0), "membrane_bits"),
    (dict(quantizer="log"), "membrane_quantizer"),
    (dict(scale=-1.0), "membrane_scale"),
    (dict(scale="auto"), "membrane_scale"),
    (dict(surrogate="relu"), "surrogate"),
    (dict(detach_reset=1), "detach_reset"),
])
def test_invalid_settings_are_refused_naming_the_argument(kwargs, pattern):
    """Each invalid value raises ValueError naming the layer's argument."""
    with pytest.raises(ValueError, match=pattern):
        LIFSpec(**kwargs)


def test_numbers_are_stored_as_floats():
    """Integer threshold, decay and scale become floats (the kernels' scalars are made from them)."""
    spec = LIFSpec(threshold=2, decay=1, scale=3)
    assert [type(v) for v in (spec.threshold, spec.decay, spec.scale)] == [float, float, float]


@pytest.mark.parametrize("bits, levels", [(None, 0), (2, 1), (4, 7), (8, 127)])
def test_levels_are_two_to_the_b_minus_one_minus_one(bits, levels):
    """n = 2**(b-1) - 1 non-zero levels per side; 0 at full precision."""
    assert LIFSpec(bits=bits).levels == levels


def test_step_is_scale_over_levels_and_one_at_full_precision():
    """The level spacing scale / n, and 1.0 where no quantizer acts."""
    assert LIFSpec(bits=4).step(0.7) == 0.7 / 7
    assert LIFSpec().step(0.7) == 1.0


@pytest.mark.parametrize("scale, fixed", [(None, 1.5), (0.25, 0.25), ("calibrated", None)])
def test_fixed_scale_is_the_threshold_a_number_or_none_when_calibrated(scale, fixed):
    """None means the threshold; a calibrated scale is the layer's to keep."""
    assert LIFSpec(threshold=1.5, bits=2, scale=scale).fixed_scale == fixed


def test_kernel_key_ignores_the_quantizer_at_full_precision():
    """Two full-precision specs that differ only in the unused quantizer share a kernel."""
    assert LIFSpec(quantizer="tanh").kernel_key == LIFSpec().kernel_key == ("zero", None, "triangle", False)
    assert LIFSpec(bits=2, quantizer="tanh").kernel_key == ("zero", "tanh", "triangle", False)


def test_dict_round_trip():
    """from_dict(to_dict()) gives the same spec."""
    spec = LIFSpec(threshold=0.8, decay=0.25, reset="mod", bits=3, quantizer="tanh", scale=0.5, surrogate="atan",
                   detach_reset=True)
    assert LIFSpec.from_dict(spec.to_dict()) == spec


def test_from_dict_refuses_unknown_keys_listing_the_fields():
    """A misspelt key is an error that lists the eight fields."""
    with pytest.raises(ValueError, match="membrane_bits.*the fields are threshold, decay"):
        LIFSpec.from_dict({"membrane_bits": 2})


def test_layer_arguments_map_onto_the_fields():
    """LIF's membrane_* arguments become bits, quantizer and scale."""
    spec = LIFSpec.from_layer_args(membrane_bits=4, membrane_quantizer="tanh", membrane_scale=0.5)
    assert (spec.bits, spec.quantizer, spec.scale) == (4, "tanh", 0.5)


def test_layer_keeps_its_spec_and_mirrors_it():
    """LIF.from_spec keeps the spec; the layer's attributes read from it."""
    from qsnn.nn import LIF

    spec = LIFSpec(threshold=0.8, bits=2, surrogate="atan")
    lif = LIF.from_spec(spec)
    assert lif.spec is spec
    assert (lif.threshold, lif.membrane_bits, lif.surrogate, lif.levels) == (0.8, 2, "atan", 1)
    assert LIF(threshold=0.8, membrane_bits=2, surrogate="atan").spec == spec


def test_models_build_gives_every_lif_one_spec():
    """models.build checks the settings once and hands the same spec to every LIF layer."""
    from qsnn.models import build
    from qsnn.nn import LIF

    specs = {id(m.spec) for m in build("small", 10, 1, membrane_bits=2).modules() if isinstance(m, LIF)}
    assert len(specs) == 1


def test_packed_manifest_entry_round_trips_what_inference_needs():
    """The packed format's "lif" entry reads back to a spec with the same inference settings."""
    from qsnn.deploy.format import lif_entry, lif_spec

    spec = LIFSpec(threshold=0.8, decay=0.75, reset="subtract", bits=4)
    back = lif_spec(lif_entry(spec))
    assert (back.threshold, back.decay, back.reset, back.bits, back.levels) == (0.8, 0.75, "subtract", 4, 7)
