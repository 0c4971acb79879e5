"""Ambiguities are named, not blamed: where the ONNX text leaves an answer open, a backend that
follows any declared reading agrees and the verdict names the reading; one that follows none is caught.

Readings (``reference.variants.Reading``) are not variants: the diagnosis never offers one as a bug.
Each reading is cross-checked against the loop oracles in ``tests/loop_*.py``, written from the text.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

import reference
from conformance.case import Case
from conformance.certify import certify
from conformance.ops import get_declaration
from conformance.ops.declaration import OpDeclaration
from conformance.profiles import profile_settings
from tests import planted_normalization, planted_pooling
from tests.loop_normalization import mean_variance_normalization_by_loops
from tests.loop_reference_pooling import BY_LOOPS
from tests.loop_reference_resize import resize_by_loops

POOLING_READINGS = ("pad_shape_clamped", "pad_shape_unclamped", "pad_shape_unclamped_floor_split")


@pytest.mark.parametrize("op, reading", [("MaxPool", "pad_shape_unclamped"), ("AveragePool", "pad_shape_unclamped"),
                                         ("MeanVarianceNormalization", "std_without_epsilon"),
                                         ("Resize", "pytorch_half_pixel_integer_length")])
def test_a_reading_is_declared_with_a_citation_and_is_no_variant(op, reading):
    declaration = get_declaration(op)
    assert reading in declaration.alternative_readings
    assert reading not in declaration.variants  # so the diagnosis never offers it as a bug
    assert declaration.readings[reading].citation
    assert sum(r.default for r in declaration.readings.values()) == 1


# --- the reference under each reading agrees with the loop oracles -------------------------------

NEGATIVE_SAME = [(n, k, s, d, auto_pad)
                 for n, k, s, d, auto_pad in itertools.product(range(1, 9), (1, 2), (2, 3, 4, 5), (1, 2),
                                                               ("SAME_UPPER", "SAME_LOWER"))
                 if (-(-n // s) - 1) * s + (k - 1) * d + 1 - n < 0]


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool", "LpPool"])
@pytest.mark.parametrize("reading", POOLING_READINGS)
def test_pooling_readings_match_loops_on_every_negative_same_padding(op, reading):
    rng = np.random.default_rng(0)
    for n, k, s, d, auto_pad in NEGATIVE_SAME:
        # 2-D: the axis in question beside an axis whose padding is positive
        X = rng.standard_normal((1, 2, n, 4))
        attributes = dict(kernel_shape=[k, 3], strides=[s, 1], dilations=[d, 1], auto_pad=auto_pad)
        vectorized = reference.evaluate(op, [X], attributes, [reading])
        by_loops = BY_LOOPS[op](X, **attributes, reading=reading)
        by_loops = by_loops if isinstance(by_loops, tuple) else (by_loops,)
        np.testing.assert_allclose(vectorized[0], by_loops[0], rtol=1e-12, atol=1e-12, err_msg=f"{attributes} on {X.shape}")
        if op == "MaxPool":
            np.testing.assert_array_equal(vectorized[1], by_loops[1])


def test_pooling_readings_differ_where_the_text_is_open():
    """AveragePool(kernel_shape=[1], strides=[3], SAME_UPPER) on [1, 2, 3]: pad_shape = -2, and on
    [1..7] with strides [5]: pad_shape = -1, where the two unclamped splits part."""
    X = np.arange(1.0, 4.0).reshape(1, 1, 3)
    picks = {r: reference.evaluate("AveragePool", [X], dict(kernel_shape=[1], strides=[3], auto_pad="SAME_UPPER"),
                                   [r])[0].ravel().tolist() for r in POOLING_READINGS}
    assert picks == {"pad_shape_clamped": [1.0], "pad_shape_unclamped": [2.0], "pad_shape_unclamped_floor_split": [2.0]}
    X = np.arange(1.0, 8.0).reshape(1, 1, 7)
    picks = {r: reference.evaluate("AveragePool", [X], dict(kernel_shape=[1], strides=[5], auto_pad="SAME_UPPER"),
                                   [r])[0].ravel().tolist() for r in POOLING_READINGS}
    assert picks == {"pad_shape_clamped": [1.0, 6.0], "pad_shape_unclamped": [1.0, 6.0],
                     "pad_shape_unclamped_floor_split": [2.0, 7.0]}


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_tensorflows_3d_pooling_follows_a_reading_of_pad_shape_on_either_path(op):
    """Measured on TensorFlow 2.21 (tf.nn.max_pool3d and avg_pool3d, padding='SAME', kernel 1): on
    Eigen (TF_ENABLE_ONEDNN_OPTS=0) an axis of 3 at stride 3 (total -2) reads element 1, an axis of 4
    at stride 4 (total -3) element 1 too, C's truncating split; on oneDNN (=1, also capped at AVX2)
    both read element 0. So no known divergence: Eigen is pad_shape_unclamped, oneDNN the default."""
    measured = {  # X (NCDHW), strides: Eigen's answer, oneDNN's
        ((2, 1, 1, 3, 1), (1, 3, 1)): ([2.0, 5.0], [1.0, 4.0]),
        ((2, 1, 4, 1, 1), (4, 1, 1)): ([2.0, 6.0], [1.0, 5.0]),
    }
    for (shape, strides), (eigen, onednn) in measured.items():
        X = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
        attributes = dict(kernel_shape=[1, 1, 1], strides=list(strides), auto_pad="SAME_UPPER")
        picks = {r: reference.evaluate(op, [X], attributes, [r])[0].ravel().tolist() for r in POOLING_READINGS}
        assert picks["pad_shape_unclamped"] == eigen and picks["pad_shape_clamped"] == onednn, (shape, picks)
        if strides == (4, 1, 1):  # an odd total: the floor split reads another element than Eigen does
            assert picks["pad_shape_unclamped_floor_split"] != eigen, picks


@pytest.mark.parametrize("reading", ["std_plus_epsilon", "std_without_epsilon"])
def test_mvn_readings_match_loops(reading):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2, 3, 2, 2)) * np.array([1.0, 1e-7, 0.0]).reshape(1, 3, 1, 1)  # one constant channel
    vectorized = reference.evaluate("MeanVarianceNormalization", [X], {}, [reading])[0]
    np.testing.assert_allclose(vectorized, mean_variance_normalization_by_loops(X, reading=reading), rtol=1e-12, atol=0)


@pytest.mark.parametrize("reading", ["pytorch_half_pixel_fractional_length", "pytorch_half_pixel_integer_length"])
@pytest.mark.parametrize("mode", ["linear", "cubic", "nearest"])
def test_resize_readings_match_loops(reading, mode):
    X = np.arange(1.0, 21.0).reshape(1, 1, 4, 5)
    for scales in ([1, 1, 0.4, 0.3], [1, 1, 0.45, 2.5], [1, 1, 0.3, 0.3]):  # one output from lengths 1.6, 1.8, 1.2, 1.5
        attributes = dict(mode=mode, coordinate_transformation_mode="pytorch_half_pixel")
        arguments = [X, None, np.array(scales, dtype=np.float32)]
        vectorized = reference.evaluate("Resize", arguments, attributes, [reading])[0]
        np.testing.assert_allclose(vectorized, resize_by_loops(*arguments, reading=reading, **attributes),
                                   rtol=1e-12, atol=1e-12)


# --- a backend following a reading agrees, with the reading named; one following none is caught --

def _same_upper(op: str) -> OpDeclaration:
    """The operator's declaration with its cases pinned to SAME_UPPER, where the strategy draws the
    negative pad_shape totals (strides larger than the kernel) that tell the readings apart."""
    declaration = get_declaration(op)
    return replace(declaration, cases=lambda pins=None: declaration.cases(pins={**(pins or {}), "auto_pad": "SAME_UPPER"}))


@pytest.mark.parametrize("op", ["AveragePool", "LpPool"])
@pytest.mark.parametrize("backend, reading", [(planted_pooling.SameNegativePaddingCropped, "pad_shape_unclamped"),
                                              (planted_pooling.SameNegativePaddingFloorSplit,
                                               "pad_shape_unclamped_floor_split")])
def test_a_backend_following_an_unclamped_reading_agrees_and_is_named(op, backend, reading):
    result = certify(_same_upper(op), backend(), profile_settings("ci", examples=200))
    assert result.status == "agree", f"{op}: {result.status} {result.message}"
    # Every example the default reading fails names the backend's reading (beside the other unclamped
    # split, where the two give the same windows: a total of -2 splits as (-1, -1) either way).
    assert result.readings and all(reading in named.split(" or ") for named in result.readings), result.readings
    assert all(f"{named} on {count} of {result.judged} examples" in result.message
               for named, count in result.readings.items()), result.message


@pytest.mark.parametrize("op", ["AveragePool", "LpPool"])
def test_a_backend_following_no_reading_of_pad_shape_is_caught(op):
    result = certify(_same_upper(op), planted_pooling.SameNegativePaddingAtBeginning(), profile_settings("ci", examples=200))
    assert result.status == "disagree", f"{op}: {result.status} {result.message}"
    assert result.counterexample.case["attributes"]["auto_pad"].startswith("SAME")


def test_mvn_following_the_doc_string_agrees_and_is_named():
    result = certify(get_declaration("MeanVarianceNormalization"), planted_normalization.StdWithoutEpsilon(),
                     profile_settings("ci", examples=200))
    assert result.status == "agree", result.message
    assert result.readings.get("std_without_epsilon", 0) > 0, result.readings


def test_mvn_with_another_epsilon_is_caught():
    result = certify(get_declaration("MeanVarianceNormalization"), planted_normalization.StdPlusLargeEpsilon(),
                     profile_settings("ci", examples=200))
    assert result.status == "disagree", result.message


def _one_output_case(scales) -> Case:
    X = np.arange(1.0, 21.0, dtype=np.float32).reshape(1, 1, 4, 5)
    return Case("Resize", {"X": X, "roi": None, "scales": np.array(scales, dtype=np.float32)},
                {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"})


@pytest.mark.parametrize("reading", ["pytorch_half_pixel_integer_length", "pytorch_half_pixel_fractional_length"])
def test_resize_following_either_length_reading_agrees_and_is_named(reading):
    case = _one_output_case([1, 1, 0.4, 0.3])  # lengths 1.6 and 1.5, one output each
    declaration = get_declaration("Resize")
    outputs = [resize_by_loops(*case.inputs.values(), reading=reading, **case.attributes).astype(np.float32)]
    verdict = declaration.verdict(case, outputs)
    assert verdict.ok, verdict.message
    assert verdict.reading == ("" if declaration.readings[reading].default else reading)


def test_resize_following_neither_length_reading_is_caught():
    """x_original = (x + 0.5) / scale - 0.5 even where length_resized is 1 under both readings (4 * 0.25,
    5 * 0.2), where the text says 0."""
    case = _one_output_case([1, 1, 0.25, 0.2])
    X = case.inputs["X"].astype(np.float64)
    outputs = [resize_by_loops(X, None, case.inputs["scales"], mode="linear",
                               coordinate_transformation_mode="half_pixel").astype(np.float32)]
    verdict = get_declaration("Resize").verdict(case, outputs)
    assert not verdict.ok and verdict.reading == ""
