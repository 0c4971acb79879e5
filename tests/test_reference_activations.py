"""Self-test of the activation reference: against a loop implementation, hand-computed conventions,
its named variants, its special functions, and its errors for invalid calls.

``reference.activations`` is vectorized (ufuncs, strided row views); ``tests.loop_activations``
computes the same operators one element (or one softmax row) at a time with ``math``, straight from
the ONNX text. The two are compared on the very cases the suite certifies with.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, note, settings

import reference
from cases.test_activations import OPERATORS
from conformance.case import Case
from conformance.ops import get_declaration
from reference import activations as act
from reference.special import erf, erfc
from tests.loop_activations import by_loops, prelu_by_loops, softmax_family_by_loops


# --- The cross-check on the certified case space ----------------------------------------------


def _assert_matches_loops(case: Case) -> None:
    note(f"draws: {dict(case.draws)}")
    arguments = list(case.inputs.values())
    (vectorized,) = reference.evaluate(case.op_type, arguments, case.attributes, opset=case.opset)
    by_loop = by_loops(case.op_type, arguments, dict(case.attributes), case.opset)
    assert vectorized.shape == by_loop.shape
    if np.asarray(arguments[0]).dtype.kind in "iu":
        np.testing.assert_array_equal(vectorized, by_loop)
        return
    # Both compute in float64 from the same inputs by stable formulas, with different roundings (a few
    # ulps of elementary functions, softmax sums in another order): 1e-12 relative is hundreds of
    # times that, while a wrong axis, default or branch moves values by O(1) relative. The absolute
    # 1e-300 admits results that underflow differently; the tanh GELU's x^3 may overflow to inf alike.
    np.testing.assert_allclose(vectorized, by_loop, rtol=1e-12, atol=1e-300)


# Loops are slow: 40 cases per operator (inputs of up to 4k elements) keep this to a few seconds.
@pytest.mark.parametrize("op", OPERATORS)
def test_reference_matches_loops_on_certified_cases(op):
    @settings(max_examples=40, deadline=None)
    @given(case=get_declaration(op).cases())
    def check(case):
        _assert_matches_loops(case)

    check()


# --- Hand-computed conventions ------------------------------------------------------------------


def test_float_defaults_are_the_schemas_float32_values():
    assert act.leaky_relu(np.array([-1.0]))[0] == -0.009999999776482582
    assert act.hard_sigmoid(np.array([1.0]))[0] == pytest.approx(0.20000000298023224 + 0.5, abs=0)
    assert act.selu(np.array([1.0]))[0] == 1.0507010221481323
    expected = 1.0507010221481323 * 1.6732631921768188 * math.expm1(-1)
    assert act.selu(np.array([-1.0]))[0] == pytest.approx(expected, rel=1e-15)


def test_hard_swish_uses_exactly_one_sixth():
    np.testing.assert_array_equal(act.hard_swish(np.array([-3.0, 3.0, 1.0, -4.0, 4.0])), [0.0, 3.0, 2 / 3, 0.0, 4.0])


def test_celu_scales_inside_and_outside():
    assert act.celu(np.array([-1.0]), alpha=2.0)[0] == pytest.approx(2 * math.expm1(-0.5), rel=1e-15)
    assert act.celu(np.array([5.0, 1e4]), alpha=0.5).tolist() == [5.0, 1e4]  # exp(x/alpha) overflows harmlessly


def test_gelu_exact_and_tanh_values():
    assert act.gelu(np.array([1.0]))[0] == pytest.approx(0.8413447460685429, rel=1e-15)
    assert act.gelu(np.array([1.0]), approximate="tanh")[0] == pytest.approx(0.8411919906082768, rel=1e-15)
    # The tail keeps its relative accuracy: 0.5 x erfc(-x / sqrt 2) = -x Phi(x) for x = -10.
    assert act.gelu(np.array([-10.0]))[0] == pytest.approx(-10 * 0.5 * math.erfc(10 / math.sqrt(2)), rel=1e-14)


def test_sigmoid_softplus_tails_neither_overflow_nor_cancel():
    assert act.sigmoid(np.array([-1000.0, 1000.0])).tolist() == [0.0, 1.0]
    assert act.sigmoid(np.array([-30.0]))[0] == pytest.approx(math.exp(-30) / (1 + math.exp(-30)), rel=1e-15)
    assert act.softplus(np.array([1000.0]))[0] == 1000.0
    assert act.softplus(np.array([-40.0]))[0] == pytest.approx(math.exp(-40), rel=1e-15)


def test_thresholded_relu_is_strict():
    np.testing.assert_array_equal(act.thresholded_relu(np.array([1.0, 1.5, 0.5])), [0.0, 1.5, 0.0])
    np.testing.assert_array_equal(act.thresholded_relu(np.array([1.0]), variants=["threshold_inclusive"]), [1.0])


def test_clip_conventions():
    X = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_array_equal(act.clip(X, np.array(0.0), np.array(1.0)), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(act.clip(X, None, np.array(1.0)), [-2.0, 0.5, 1.0])
    np.testing.assert_array_equal(act.clip(X), X)
    # min > max: every output is max (opset 13's text); min under the variant (tf.clip_by_value).
    np.testing.assert_array_equal(act.clip(X, np.array(2.0), np.array(1.0)), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(act.clip(X, np.array(2.0), np.array(1.0), variants=["min_wins"]), [2.0, 2.0, 2.0])
    # Before opset 11, min and max are float attributes.
    np.testing.assert_array_equal(act.clip(X, min=-1.0, max=1.0, opset=6), [-1.0, 0.5, 1.0])
    # Integers stay integers, exactly.
    Y = act.clip(np.array([-100, 5, 100], dtype=np.int8), np.array(-3, np.int8), np.array(7, np.int8))
    assert Y.dtype == np.int8 and Y.tolist() == [-3, 5, 7]


def test_relu_and_prelu_keep_integers():
    assert act.relu(np.array([-3, 4], dtype=np.int64)).tolist() == [0, 4]
    Y = act.prelu(np.array([-3, 4], dtype=np.int32), np.array([2], dtype=np.int32))
    assert Y.dtype == np.int32 and Y.tolist() == [-6, 4]


def test_prelu_broadcasts_along_the_last_axes_from_opset_7_and_per_channel_before():
    X = -np.ones((1, 2, 2))
    slope = np.array([10.0, 20.0])
    np.testing.assert_array_equal(act.prelu(X, slope, opset=16), [[[-10.0, -20.0], [-10.0, -20.0]]])
    np.testing.assert_array_equal(act.prelu(X, slope, opset=6), [[[-10.0, -10.0], [-20.0, -20.0]]])
    np.testing.assert_array_equal(act.prelu(X, slope, variants=["slope_per_channel"]), act.prelu(X, slope, opset=6))
    np.testing.assert_array_equal(prelu_by_loops(X, slope, opset=6), act.prelu(X, slope, opset=6))


def test_prelu_6_reads_a_slope_of_c_values_per_channel_and_accepts_the_last_axis_as_the_other_reading():
    """PRelu-6 describes only a slope of size 1. ONNX's own test_PReLU_1d_multiparam (X [2, 3, 4],
    slope [3]) is valid only per channel; where C is also the last axis the readings part, and the
    other reading (NumPy's, PRelu-7's rule) changes nothing from opset 7 on."""
    X = -np.ones((2, 3, 4))
    slope = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(act.prelu(X, slope, opset=6)[0, :, 0], [-1.0, -2.0, -3.0])
    np.testing.assert_array_equal(act.prelu(X, slope, opset=6, variants=["slope_broadcast_before_7"]),
                                  act.prelu(X, slope, opset=6))  # NumPy's rules do not apply: per channel
    with pytest.raises(ValueError, match="does not broadcast"):
        act.prelu(X, slope, opset=7)
    square = -np.ones((1, 3, 3))
    per_channel = act.prelu(square, slope, opset=6)
    along_last = act.prelu(square, slope, opset=6, variants=["slope_broadcast_before_7"])
    np.testing.assert_array_equal(per_channel[0, :, 0], [-1.0, -2.0, -3.0])
    np.testing.assert_array_equal(along_last[0, 0, :], [-1.0, -2.0, -3.0])
    np.testing.assert_array_equal(act.prelu(square, slope, opset=16, variants=["slope_broadcast_before_7"]),
                                  act.prelu(square, slope, opset=16))
    assert set(reference.readings_of("PRelu")) == {"slope_per_channel_before_7", "slope_broadcast_before_7"}


SOFTMAX_INPUT = np.arange(8.0).reshape(2, 2, 2)


def test_softmax_opset_11_coerces_to_2d_and_opset_13_takes_one_axis():
    # Opset 11, default axis 1: each image's 4 values [0..3] and [4..7] form one row.
    row = np.exp(np.arange(4.0)) / np.exp(np.arange(4.0)).sum()
    np.testing.assert_allclose(act.softmax(SOFTMAX_INPUT, opset=11), np.concatenate([row, row]).reshape(2, 2, 2))
    # Opset 13, default axis -1: pairs.
    pair = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()
    np.testing.assert_allclose(act.softmax(SOFTMAX_INPUT, opset=13), np.tile(pair, (2, 2, 1)))
    # The variants swap the definitions, default axes included.
    opset_11, opset_13 = act.softmax(SOFTMAX_INPUT, opset=11), act.softmax(SOFTMAX_INPUT, opset=13)
    np.testing.assert_array_equal(act.softmax(SOFTMAX_INPUT, opset=11, variants=["one_axis"]), opset_13)
    np.testing.assert_array_equal(act.softmax(SOFTMAX_INPUT, opset=13, variants=["coerced_to_2d"]), opset_11)
    for opset in (11, 13):
        for op, fn in (("Softmax", act.softmax), ("LogSoftmax", act.log_softmax), ("Hardmax", act.hardmax)):
            for axis in (None, 0, 1, -1):
                np.testing.assert_allclose(fn(SOFTMAX_INPUT, axis=axis, opset=opset),
                                           softmax_family_by_loops(op, SOFTMAX_INPUT, axis, opset), rtol=1e-14)


def test_softmax_family_survives_large_inputs():
    X = np.array([[1000.0, -1000.0, 0.0]])
    np.testing.assert_allclose(act.softmax(X), [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(act.log_softmax(X), [[0.0, -2000.0, -1000.0]])


def test_hardmax_marks_the_first_maximum():
    X = np.array([[3.0, 7.0, 7.0, 1.0]])
    np.testing.assert_array_equal(act.hardmax(X), [[0, 1, 0, 0]])
    np.testing.assert_array_equal(act.hardmax(X, variants=["last_maximum"]), [[0, 0, 1, 0]])
    np.testing.assert_array_equal(act.hardmax(X, variants=["every_maximum"]), [[0, 1, 1, 0]])


# --- Variants that depend on the working precision ----------------------------------------------


def test_max_not_subtracted_overflows_in_the_working_precision():
    X32 = np.array([[100.0, 0.0]], dtype=np.float32)
    Y = act.softmax(X32, variants=["max_not_subtracted"])
    assert np.isnan(Y[0, 0]) and Y[0, 1] == 0.0  # inf / inf and 1 / inf
    X64 = X32.astype(np.float64)  # exp(100) is finite in float64: no overflow
    np.testing.assert_allclose(act.softmax(X64, variants=["max_not_subtracted"]), act.softmax(X64), rtol=1e-15)
    assert act.log_softmax(X32, variants=["max_not_subtracted"])[0].tolist() == [-np.inf, -np.inf]


def test_log_of_softmax_underflows_in_the_working_precision():
    X = np.array([0.0, -200.0], dtype=np.float32)
    assert act.log_softmax(X, variants=["log_of_softmax"]).tolist() == [0.0, -np.inf]
    np.testing.assert_allclose(act.log_softmax(X), [-math.exp(-200), -200.0], rtol=1e-15)


def test_softplus_exp_overflow_variant():
    assert act.softplus(np.array([100.0], dtype=np.float32), variants=["exp_overflow"])[0] == np.inf
    assert act.softplus(np.array([100.0], dtype=np.float64), variants=["exp_overflow"])[0] == 100.0
    assert act.softplus(np.array([12.0], dtype=np.float16), variants=["exp_overflow"])[0] == np.inf


def test_default_value_variants():
    X = np.array([-1.0])
    assert act.leaky_relu(X, variants=["tf_default_alpha"])[0] == -0.2
    assert act.leaky_relu(X, variants=["keras_default_alpha"])[0] == -0.3
    assert act.leaky_relu(X, alpha=0.5, variants=["tf_default_alpha"])[0] == -0.5  # a given alpha is kept
    one = np.array([1.0])
    assert act.hard_sigmoid(one, variants=["one_sixth_default_alpha"])[0] == pytest.approx(1 / 6 + 0.5, rel=1e-15)
    hard_sigmoid_default = 0.20000000298023224 + 0.5
    hard_swish = act.hard_swish(one, variants=["hard_sigmoid_default_alpha"])[0]
    assert hard_swish == pytest.approx(hard_sigmoid_default, rel=1e-15)
    assert act.elu(X, alpha=3.0, variants=["alpha_ignored"])[0] == pytest.approx(math.expm1(-1), rel=1e-15)
    assert act.selu(one, alpha=1.0, gamma=2.0, variants=["tf_constants"])[0] == 1.0507009873554804934193349852946
    assert act.gelu(one, variants=["tanh_approximation"])[0] == act.gelu(one, approximate="tanh")[0]
    assert act.gelu(one, approximate="tanh", variants=["approximate_ignored"])[0] == act.gelu(one)[0]


# --- Special functions --------------------------------------------------------------------------


def test_erf_and_erfc_match_math_to_a_few_ulps():
    x = np.concatenate([np.linspace(-30, 30, 6001), np.geomspace(1e-300, 1, 301), -np.geomspace(1e-300, 1, 301),
                        [0.0, 0.46875, -0.46875, 4.0, -4.0, 26.5, 27.2]])
    want_erf = np.array([math.erf(v) for v in x])
    want_erfc = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(erf(x), want_erf, rtol=2e-15, atol=0)
    normal = want_erfc > np.finfo(np.float64).tiny
    np.testing.assert_allclose(erfc(x)[normal], want_erfc[normal], rtol=2e-15, atol=0)
    np.testing.assert_allclose(erfc(x)[~normal], want_erfc[~normal], rtol=0, atol=1e-320)


# --- Errors for invalid calls -------------------------------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda: act.softmax(np.zeros((2, 3)), axis=2), "axis 2 is out of range for an input of rank 2"),
    (lambda: act.softmax(np.zeros(3), opset=11), "axis 1 is out of range for an input of rank 1"),
    (lambda: act.hardmax(np.array(1.0)), "rank >= 1"),
    (lambda: act.celu(np.zeros(2), alpha=0.0), "alpha must be nonzero"),
    (lambda: act.prelu(np.zeros((2, 3)), np.zeros(2)), "does not broadcast unidirectionally"),
    (lambda: act.prelu(np.zeros((2, 3, 4)), np.zeros(4), opset=6), "per-channel slope needs 3 values"),
    (lambda: act.clip(np.zeros(3), np.zeros(2)), "must be a scalar"),
    (lambda: act.gelu(np.zeros(2), approximate="erf"), "'none' or 'tanh'"),
    (lambda: act.relu(np.array(["a"])), "must be a real tensor"),
    (lambda: act.leaky_relu(np.zeros(2), variants=["keras_default"]), "unknown variant"),
])
def test_invalid_calls_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
