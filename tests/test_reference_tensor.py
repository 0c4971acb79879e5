"""Self-test of the reductions and shape references against the loops of tests/loop_tensor.py.

The vectorized references are compared with a second implementation, one output element at a
time, on the very cases the suite certifies with; then both are checked on hand-computed
examples of the conventions that differ in the wild (DCR against CRD, reflect against symmetric,
Slice's clamping, Flatten's and Unsqueeze's negative axes, keepdims and noop_with_empty_axes, a
LogSumExp of large inputs), the named variants on what they claim, and invalid calls on their
error messages.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings

import reference
from conformance.case import Case
from conformance.ops import get_declaration
from conformance.profiles import profile_settings
from reference.reductions import OPERATORS as REDUCTIONS
from reference.shape import OPERATORS as SHAPE_OPERATORS
from tests.loop_tensor import BY_LOOPS, reduction_by_loops

QUIET = list(HealthCheck)


def evaluate(case: Case, variants=()) -> tuple[np.ndarray, ...]:
    return reference.evaluate(case.op_type, list(case.inputs.values()), case.attributes, variants,
                              case.opset, output_count=len(case.outputs))


def by_loops(case: Case) -> tuple[np.ndarray, ...]:
    inputs = list(case.inputs.values())
    if case.op_type in REDUCTIONS:
        return (reduction_by_loops(case.op_type, *inputs, **case.attributes),)
    extra = {"output_count": len(case.outputs)} if case.op_type == "Split" else {}
    if case.op_type == "Concat":
        return (BY_LOOPS["Concat"](*inputs, **case.attributes),)
    result = BY_LOOPS[case.op_type](*inputs, **case.attributes, **extra)
    return result if isinstance(result, tuple) else (result,)


# --- The cross-check on the certified case space ----------------------------------------------


@pytest.mark.parametrize("op", list(REDUCTIONS) + list(SHAPE_OPERATORS))
def test_reference_matches_loops_on_certified_cases(op):
    """Shapes and dtypes equal, data movement and integers bit for bit, floats within float64 rounding.

    Both sides reduce the same float64 values in different orders (NumPy's pairwise sums against
    math.fsum's exact ones), so they differ by at most about n * 2**-53 times the sum of
    magnitudes (n <= 4096: 5e-13); 1e-11 of the largest magnitude involved leaves a 20x margin,
    while a misplaced axis or element moves results by whole elements.
    """

    @settings(profile_settings("ci", examples=60), suppress_health_check=QUIET)
    @given(get_declaration(op).cases())
    def check(case):
        note(case.describe())
        expected, looped = evaluate(case), by_loops(case)
        assert len(expected) == len(looped)
        for vectorized, loop in zip(expected, looped):
            assert vectorized.shape == loop.shape
            assert vectorized.dtype == loop.dtype
            if vectorized.dtype.kind != "f":
                np.testing.assert_array_equal(vectorized, loop)
                continue
            data = case.inputs[next(iter(case.inputs))].astype(np.float64)
            scale = float(np.abs(data).sum()) if data.size else 0.0
            if op in ("ReduceSumSquare", "ReduceL2"):
                scale = float((data * data).sum()) + np.sqrt(float((data * data).sum()))
            np.testing.assert_allclose(vectorized, loop, rtol=1e-11, atol=1e-11 * scale)

    check()


# --- Hand-computed conventions -----------------------------------------------------------------


def call(op_type, *inputs, variants=(), output_count=1, **attributes):
    outputs = reference.evaluate(op_type, list(inputs), attributes, variants, output_count=output_count)
    return outputs if len(outputs) > 1 else outputs[0]


def i64(*values):
    return np.array(values, dtype=np.int64)


def test_depth_to_space_dcr_and_crd_as_the_specification_shows():
    x = np.arange(8, dtype=np.float32).reshape(1, 8, 1, 1)
    dcr = call("DepthToSpace", x, blocksize=2)
    crd = call("DepthToSpace", x, blocksize=2, mode="CRD")
    # DCR: depth = (row, column, channel); CRD: (channel, row, column).
    np.testing.assert_array_equal(dcr[0, 0], [[0, 2], [4, 6]])
    np.testing.assert_array_equal(crd[0, 0], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(crd[0, 1], [[4, 5], [6, 7]])
    for mode, result in (("DCR", dcr), ("CRD", crd)):
        np.testing.assert_array_equal(result, BY_LOOPS["DepthToSpace"](x, blocksize=2, mode=mode))
        np.testing.assert_array_equal(call("SpaceToDepth", result, blocksize=2, mode=mode), x)
    np.testing.assert_array_equal(call("DepthToSpace", x, blocksize=2, variants=["mode_swapped"]), crd)


def test_pad_modes_reflect_is_not_symmetric():
    row = np.array([[1, 2, 3]], dtype=np.int32)
    pads = i64(0, 2, 0, 2)
    expected = {"reflect": [3, 2, 1, 2, 3, 2, 1], "edge": [1, 1, 1, 2, 3, 3, 3],
                "wrap": [2, 3, 1, 2, 3, 1, 2], "constant": [0, 0, 1, 2, 3, 0, 0]}
    for mode, values in expected.items():
        np.testing.assert_array_equal(call("Pad", row, pads, mode=mode)[0], values)
        np.testing.assert_array_equal(BY_LOOPS["Pad"](row, pads, mode=mode)[0], values)
    np.testing.assert_array_equal(call("Pad", row, pads, mode="reflect", variants=["reflect_as_symmetric"])[0],
                                  [2, 1, 1, 2, 3, 3, 2])
    # Negative pads remove; the constant fills what is added; pads are [begins..., ends...].
    np.testing.assert_array_equal(call("Pad", row, i64(0, -1, 0, 1), np.array(9, np.int32)), [[2, 3, 9]])
    np.testing.assert_array_equal(call("Pad", row, i64(1, 0), None, i64(-2)), [[0, 0, 0], [1, 2, 3]])


def test_slice_clamping_of_the_specification():
    x = np.arange(3, dtype=np.float32)
    cases = [
        ((0,), (2**63 - 1,), (1,), [0, 1, 2]),  # INT_MAX forward: to the end
        ((2**63 - 1,), (-(2**63),), (-1,), [2, 1, 0]),  # INT_MAX/INT_MIN backward: reversed
        ((1,), (2**63 - 1,), (-1,), []),  # INT_MAX backward: clamped to dim-1, empty
        ((-4,), (-9,), (-1,), [0]),  # a backward start below -dim starts at element 0
        ((-1,), (-4,), (-1,), [2, 1, 0]),  # a backward end below -dim includes element 0
        ((5,), (0,), (-2,), [2]),
    ]
    for starts, ends, steps, values in cases:
        arguments = (x, i64(*starts), i64(*ends), None, i64(*steps))
        np.testing.assert_array_equal(call("Slice", *arguments), values)
        np.testing.assert_array_equal(BY_LOOPS["Slice"](*arguments), values)
    np.testing.assert_array_equal(call("Slice", x, i64(-4), i64(-9), None, i64(-1), variants=["starts_clamped_like_numpy"]), [])
    np.testing.assert_array_equal(call("Slice", x, i64(1), i64(2**63 - 1), None, i64(-1), variants=["int_max_end_as_unbounded"]), [1, 0])
    np.testing.assert_array_equal(
        call("Slice", x, i64(-1), i64(-4), None, i64(-1), variants=["negative_step_clamped_like_positive"]), [2, 1])


def test_flatten_and_unsqueeze_axes():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert call("Flatten", x).shape == (2, 12)
    assert call("Flatten", x, axis=0).shape == (1, 24)
    assert call("Flatten", x, axis=3).shape == (24, 1)
    assert call("Flatten", x, axis=-1).shape == (6, 4)
    assert call("Flatten", x, axis=-3).shape == (1, 24)
    assert call("Flatten", x, axis=-1, variants=["negative_axis_off_by_one"]).shape == (24, 1)
    image = np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2)
    np.testing.assert_array_equal(call("Flatten", image, variants=["nhwc_order"])[0, :4], [0, 4, 8, 1])
    y = np.zeros((3, 4), np.float32)
    assert call("Unsqueeze", y, i64(2, 0)).shape == (1, 3, 1, 4)  # output positions, any order
    assert call("Unsqueeze", y, i64(-1, 0)).shape == (1, 3, 4, 1)  # -1: the output's last axis
    assert call("Unsqueeze", y, i64(2, 0), variants=["axes_in_given_order"]).shape == (1, 3, 4, 1)
    assert call("Unsqueeze", y, i64(-1, -2), variants=["negative_axes_in_input_rank"]).shape == (3, 1, 1, 4)
    assert call("Unsqueeze", y, i64(-1, -2)).shape == (3, 4, 1, 1)


def test_reductions_keepdims_noop_and_empty_axes():
    x = np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32)
    assert call("ReduceSum", x, i64(1)).shape == (2, 1)  # keepdims defaults to 1
    assert call("ReduceSum", x, i64(1), variants=["keepdims_default_false"]).shape == (2,)
    assert call("ReduceSum", x, i64()).shape == (1, 1)  # empty axes: every axis
    np.testing.assert_array_equal(call("ReduceSum", x, i64(), noop_with_empty_axes=1), x)
    np.testing.assert_array_equal(call("ReduceSumSquare", x, None, noop_with_empty_axes=1), x * x)
    np.testing.assert_array_equal(call("ReduceL1", x, i64(), noop_with_empty_axes=1), np.abs(x))
    np.testing.assert_array_equal(call("ReduceL1", x, i64(), noop_with_empty_axes=1,
                                       variants=["noop_skips_composite_steps"]), x)
    np.testing.assert_array_equal(call("ReduceSum", x, i64(), variants=["empty_axes_reduce_nothing"]), x)
    assert call("ReduceSum", x, axes=[0, 1], keepdims=0).shape == ()  # the attribute form
    np.testing.assert_array_equal(call("ReduceMean", np.array([-7, 0, 0], np.int32)), [-2])  # toward zero


def test_reductions_over_no_values():
    empty = np.zeros((2, 0), dtype=np.float32)
    np.testing.assert_array_equal(call("ReduceSum", empty, i64(1)), [[0], [0]])
    np.testing.assert_array_equal(call("ReduceProd", empty, i64(1)), [[1], [1]])
    np.testing.assert_array_equal(call("ReduceMax", empty, i64(1)), [[-np.inf], [-np.inf]])
    np.testing.assert_array_equal(call("ReduceMin", empty, i64(1)), [[np.inf], [np.inf]])
    np.testing.assert_array_equal(call("ReduceLogSumExp", empty, i64(1)), [[-np.inf], [-np.inf]])
    np.testing.assert_array_equal(call("ReduceMax", np.zeros((0,), np.int8)), [-128])
    with pytest.raises(ValueError, match="undefined"):
        call("ReduceMean", empty, i64(1))


def test_log_sum_exp_of_large_inputs_and_without_the_maximum():
    x = np.array([1000.0, 999.0, -5.0], dtype=np.float32)
    np.testing.assert_allclose(call("ReduceLogSumExp", x, keepdims=0), 1000 + np.log1p(np.exp(-1.0)), rtol=1e-15)
    assert np.isposinf(call("ReduceLogSumExp", x, keepdims=0, variants=["no_max_subtraction"]))
    small = np.array([-200.0, -201.0], dtype=np.float32)  # exp underflows to 0 in float32
    assert np.isneginf(call("ReduceLogSumExp", small, keepdims=0, variants=["no_max_subtraction"]))
    np.testing.assert_allclose(call("ReduceLogSumExp", small.astype(np.float64), keepdims=0,
                                    variants=["no_max_subtraction"]), -200 + np.log1p(np.exp(-1.0)), rtol=1e-12)


def test_split_sizes():
    x = np.arange(7, dtype=np.int64)
    assert [len(p) for p in call("Split", x, num_outputs=3, output_count=3)] == [3, 3, 1]
    assert [len(p) for p in call("Split", x, num_outputs=3, output_count=3, variants=["array_split_sizes"])] == [3, 2, 2]
    assert [len(p) for p in call("Split", x, i64(0, 7), output_count=2)] == [0, 7]
    assert [len(p) for p in call("Split", np.arange(6), output_count=3)] == [2, 2, 2]  # opset 13, no split


def test_expand_broadcasts_both_ways_and_tile_repeats_whole():
    x = np.array([[1], [2]], dtype=np.int32)
    assert call("Expand", x, i64(1, 3)).shape == (2, 3)  # 1 against 2 keeps 2
    assert call("Expand", x, i64(2)).shape == (2, 2)  # a shorter shape
    np.testing.assert_array_equal(call("Tile", np.array([1, 2]), i64(2)), [1, 2, 1, 2])
    np.testing.assert_array_equal(call("Tile", np.array([1, 2]), i64(2), variants=["repeat_interleave"]), [1, 1, 2, 2])


def test_transpose_perm_and_its_inverse():
    x = np.zeros((2, 3, 4))
    assert call("Transpose", x, perm=[1, 2, 0]).shape == (3, 4, 2)
    assert call("Transpose", x, perm=[1, 2, 0], variants=["perm_inverted"]).shape == (4, 2, 3)
    assert call("Transpose", x).shape == (4, 3, 2)


@pytest.mark.parametrize("op_type, inputs, attributes, message", [
    ("Reshape", [np.zeros((2, 3)), i64(4, -1)], {}, "cannot infer"),
    ("Reshape", [np.zeros((2, 3)), i64(-1, -1)], {}, "more than one -1"),
    ("Squeeze", [np.zeros((2, 1)), i64(0)], {}, "size is not 1"),
    ("Unsqueeze", [np.zeros((2,)), i64(0, -3)], {}, "repeats an axis"),
    ("Slice", [np.zeros(3), i64(0), i64(1), None, i64(0)], {}, "cannot be 0"),
    ("Pad", [np.zeros((1, 2)), i64(0, 2, 0, 0)], {"mode": "reflect"}, "undefined"),
    ("Pad", [np.zeros((1, 2)), i64(0, 1)], {}, "4 expected"),
    ("Split", [np.zeros(5)], {"num_outputs": 4, "output_count": 4}, "last one empty"),
    ("ReduceSum", [np.zeros((2, 2)), i64(2)], {}, "out of range"),
    ("ReduceSum", [np.zeros((2, 2)), i64(1, -1)], {}, "repeats an axis"),
    ("DepthToSpace", [np.zeros((1, 3, 1, 1))], {"blocksize": 2}, "multiple of blocksize"),
    ("Flatten", [np.zeros((2, 2))], {"axis": 3}, "out of range"),
])
def test_invalid_calls_raise_clear_errors(op_type, inputs, attributes, message):
    output_count = attributes.pop("output_count", 1)
    with pytest.raises(ValueError, match=message):
        reference.evaluate(op_type, inputs, attributes, output_count=output_count)


def test_the_shipped_cases_of_these_operators_are_all_there():
    """tests/test_onnx_shipped_cases.py runs the reference on every shipped case of a declared
    operator; onnx 1.23.2 ships 173 node cases and 15 pytorch data sets made of these operators
    alone (Pad, Split, Concat, Flatten, Slice + Squeeze, Transpose, ReduceMean, ReduceSum at opset 6)."""
    import onnx

    from tests.test_onnx_shipped_cases import data_set_directories, node_cases, op_types

    ours = set(REDUCTIONS) | set(SHAPE_OPERATORS)
    cases = [c.name for c in node_cases() if op_types(c.model) <= ours]
    data_sets = [d for d in data_set_directories() if op_types(onnx.load_model(str(d.parent / "model.onnx"))) <= ours]
    assert len(cases) >= 173, cases
    assert len(data_sets) >= 15, data_sets
