"""Self-test of the pooling reference: a second implementation with loops, hand-worked examples of
the conventions that differ in the wild, the variants, and the errors for invalid calls.

``reference.pooling`` is vectorized (one strided view, one array operation per kernel tap);
``tests.loop_reference_pooling`` computes each output element tap by tap, straight from the ONNX
text. They are compared on the very cases the suite certifies with.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note, settings

import reference
from conformance.case import Case
from conformance.ops import get_declaration
from conformance.backends.graph import node_attributes
from reference.pooling import average_pool, lp_pool, max_pool, pool_geometry
from tests import test_onnx_shipped_cases as shipped
from tests.loop_reference_pooling import BY_LOOPS


def assert_reference_matches_loops(case: Case) -> None:
    note(f"draws: {dict(case.draws)}")
    X = case.inputs["X"]
    vectorized = reference.evaluate(case.op_type, [X], case.attributes)
    by_loops = BY_LOOPS[case.op_type](X, **case.attributes)
    by_loops = by_loops if isinstance(by_loops, tuple) else (by_loops,)
    assert vectorized[0].shape == by_loops[0].shape
    # Max pooling selects: exactly equal. Averages and Lp norms sum at most 27 float64 terms in
    # another order: within 27 * 2**-53 of the sum of magnitudes (6e-15 of the largest input times
    # the taps); 1e-12 of it leaves a wide margin while a misplaced tap moves an element by about
    # one input element.
    scale = 27 * float(np.abs(X.astype(np.float64)).max(initial=0.0)) ** case.attributes.get("p", 1)
    np.testing.assert_allclose(vectorized[0], by_loops[0], rtol=1e-12, atol=1e-12 * max(scale, 1e-300))
    if case.op_type == "MaxPool":
        np.testing.assert_array_equal(vectorized[1], by_loops[1])


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool", "LpPool"])
def test_pooling_matches_loops_on_certified_cases(op):
    @settings(max_examples=150)
    @given(case=get_declaration(op).cases())
    def check(case):
        assert_reference_matches_loops(case)

    check()


# --- Hand-worked examples of the conventions ---------------------------------------------------

ONE_TO_FIVE = np.arange(1.0, 6.0).reshape(1, 1, 5)


def test_ceil_mode_drops_a_last_window_that_starts_in_the_end_padding():
    # in 5, kernel 2, stride 2, pads 1: ceil((5 + 2 - 2) / 2) + 1 = 4 windows, starting at -1, 1, 3, 5;
    # the one at 5 starts in the end padding and is dropped (onnx/onnx#5711, PyTorch).
    Y, _ = max_pool(ONE_TO_FIVE, kernel_shape=[2], strides=[2], pads=[1, 1], ceil_mode=1)
    np.testing.assert_array_equal(Y, [[[1.0, 3.0, 5.0]]])
    kept, _ = max_pool(ONE_TO_FIVE, kernel_shape=[2], strides=[2], pads=[1, 1], ceil_mode=1,
                       variants=["ceil_window_in_padding_kept"])
    assert kept.shape == (1, 1, 4)
    floor, _ = max_pool(ONE_TO_FIVE, kernel_shape=[2], strides=[2], pads=[1, 1], ceil_mode=1,
                        variants=["ceil_mode_ignored"])
    np.testing.assert_array_equal(floor, [[[1.0, 3.0, 5.0]]])  # floor((5 + 2 - 2) / 2) + 1 = 3 as well


def test_count_include_pad_divides_by_the_taps_in_the_padded_input():
    # onnx/onnx#5276: 1..9, kernel 7, stride 3, pads 3, ceil_mode. The last window starts at 6 and
    # covers 6..12: 7, 8, 9, three pads and one tap (12) past the end padding, which is not counted.
    X = np.arange(1.0, 10.0).reshape(1, 1, 9)
    Y = average_pool(X, kernel_shape=[7], strides=[3], pads=[3, 3], ceil_mode=1, count_include_pad=1)
    np.testing.assert_allclose(Y, [[[10 / 7, 28 / 7, 39 / 7, 24 / 6]]])
    Y0 = average_pool(X, kernel_shape=[7], strides=[3], pads=[3, 3], ceil_mode=1)
    np.testing.assert_allclose(Y0, [[[10 / 4, 28 / 7, 39 / 6, 24 / 3]]])
    inverted = average_pool(X, kernel_shape=[7], strides=[3], pads=[3, 3], ceil_mode=1,
                            variants=["count_include_pad_inverted"])
    np.testing.assert_allclose(inverted, Y)


def test_average_pool_1_leaves_the_padding_out_of_the_divisor():
    # AveragePool-1 (opsets 1 to 6) has no count_include_pad: "divided by the number of elements exclude
    # pad". The first 3x3 window of 0..15 with pads 1 holds 0, 1, 4 and 5: 10 / 4, not 10 / 9.
    case = Case("AveragePool", {"X": np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4)},
                {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, opset=1)
    (Y,) = get_declaration("AveragePool").expected(case)
    assert Y[0, 0, 0, 0] == 2.5
    assert get_declaration("AveragePool").features(case)["partial_window_without_count_include_pad"]


def test_max_pooling_ignores_padding_and_pad_value_zero_does_not():
    X = -ONE_TO_FIVE
    Y, I = max_pool(X, kernel_shape=[2], pads=[1, 1])
    np.testing.assert_array_equal(Y, [[[-1, -1, -2, -3, -4, -5]]])
    np.testing.assert_array_equal(I, [[[0, 0, 1, 2, 3, 4]]])
    zero, _ = max_pool(X, kernel_shape=[2], pads=[1, 1], variants=["pad_value_zero"])
    np.testing.assert_array_equal(zero, [[[0, -1, -2, -3, -4, 0]]])


def test_same_lower_puts_the_odd_pixel_first_with_the_dilated_kernel():
    # in 8, kernel 3, dilation 2 (extent 5), stride 2: ceil(8 / 2) = 4 outputs, total padding
    # 3 * 2 + 5 - 8 = 3, SAME_LOWER puts 2 at the beginning.
    X = np.arange(1.0, 9.0).reshape(1, 1, 8)
    Y, _ = max_pool(X, kernel_shape=[3], dilations=[2], strides=[2], auto_pad="SAME_LOWER")
    np.testing.assert_array_equal(Y, [[[3, 5, 7, 7]]])
    undilated, _ = max_pool(X, kernel_shape=[3], dilations=[2], strides=[2], auto_pad="SAME_LOWER",
                            variants=["same_pads_undilated"])
    np.testing.assert_array_equal(undilated, [[[4, 6, 8]]])  # onnxruntime's answer


def test_same_padding_is_clamped_at_zero_by_default_when_a_stride_exceeds_the_kernel():
    X = np.arange(1.0, 4.0).reshape(1, 1, 3)
    np.testing.assert_array_equal(average_pool(X, kernel_shape=[1], strides=[3], auto_pad="SAME_UPPER"), [[[1]]])
    shifted = average_pool(X, kernel_shape=[1], strides=[3], auto_pad="SAME_UPPER",
                           variants=["pad_shape_unclamped"])
    np.testing.assert_array_equal(shifted, [[[2]]])  # onnxruntime's answer: the reading pad_shape_unclamped


def test_valid_ignores_ceil_mode():
    X = np.arange(1.0, 5.0).reshape(1, 1, 4)
    Y, _ = max_pool(X, kernel_shape=[2], strides=[3], auto_pad="VALID", ceil_mode=1)
    np.testing.assert_array_equal(Y, [[[2]]])
    rounded_up, _ = max_pool(X, kernel_shape=[2], strides=[3], auto_pad="VALID", ceil_mode=1,
                             variants=["ceil_mode_on_valid"])
    np.testing.assert_array_equal(rounded_up, [[[2, 4]]])


def test_indices_are_flat_in_x_and_follow_storage_order():
    X = np.arange(24.0).reshape(2, 1, 3, 4)
    _, row_major = max_pool(X, kernel_shape=[2, 2])
    _, column_major = max_pool(X, kernel_shape=[2, 2], storage_order=1)
    # The maximum of window (0, 0) of image 1 is X[1, 0, 1, 1]: 12 + 1 * 4 + 1 row-major,
    # 12 + 1 + 1 * 3 column-major.
    assert row_major[1, 0, 0, 0] == 17 and column_major[1, 0, 0, 0] == 16
    _, per_plane = max_pool(X, kernel_shape=[2, 2], variants=["indices_per_plane"])
    assert per_plane[1, 0, 0, 0] == 5


def test_lp_pool_counts_padding_as_zero():
    Y = lp_pool(np.arange(1.0, 9.0).reshape(1, 1, 8), kernel_shape=[3], pads=[1, 1], p=3)
    assert Y.shape == (1, 1, 8)
    np.testing.assert_allclose(Y[0, 0, [0, -1]], [9 ** (1 / 3), 855 ** (1 / 3)])


def test_global_pools_keep_the_spatial_axes():
    X = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose(reference.evaluate("GlobalAveragePool", [X], {})[0], X.mean(-1, keepdims=True))
    np.testing.assert_array_equal(reference.evaluate("GlobalMaxPool", [X], {})[0], X.max(-1, keepdims=True))


# --- Errors the user can act on ------------------------------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda: max_pool(ONE_TO_FIVE), "kernel_shape is required"),
    (lambda: max_pool(ONE_TO_FIVE, kernel_shape=[2], storage_order=2), "storage_order must be 0"),
    (lambda: max_pool(np.ones((2, 3)), kernel_shape=[2]), "rank >= 3"),
    (lambda: max_pool(ONE_TO_FIVE, kernel_shape=[2, 2]), "kernel_shape has 2 values; 1 expected"),
    (lambda: max_pool(ONE_TO_FIVE, kernel_shape=[9]), "smaller than the dilated kernel"),
    (lambda: average_pool(ONE_TO_FIVE, kernel_shape=[2], auto_pad="SAME"), "auto_pad must be one of"),
    (lambda: lp_pool(ONE_TO_FIVE, kernel_shape=[2], p=0), "p must be positive"),
    (lambda: max_pool(ONE_TO_FIVE, kernel_shape=[2], variants=["count_include_pad_inverted"]), "unknown variant"),
])
def test_invalid_calls_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("model, inputs, outputs", shipped._node_case_params(only=set(BY_LOOPS)))
def test_loop_oracle_passes_onnx_node_case(model, inputs, outputs):
    """The loops the reference is checked against pass ONNX's own pooling cases too."""
    (node,) = model.graph.node
    actual = BY_LOOPS[node.op_type](*inputs, **node_attributes(node))
    actual = actual if isinstance(actual, tuple) else (actual,)
    shipped.assert_matches_shipped([a.astype(o.dtype) for a, o in zip(actual, outputs)], list(outputs),
                                   shipped.HAND_ROUNDED.get(model.graph.name, 0.0))


def test_geometry_of_every_window_holds_an_input_element_in_drawn_cases():
    from conformance.ops.pooling import empty_windows

    @settings(max_examples=100)
    @given(case=get_declaration("AveragePool").cases())
    def check(case):
        a = case.attributes
        kernel, strides, dilations, begins, _, output = pool_geometry(
            case.inputs["X"].shape[2:], a["kernel_shape"], a.get("strides"), a.get("dilations"),
            a.get("auto_pad", "NOTSET"), a.get("pads"), a.get("ceil_mode", 0))
        assert not empty_windows(case.inputs["X"].shape[2:], kernel, strides, dilations, begins, output)

    check()
