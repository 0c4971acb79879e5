"""The elementwise and dense references against loop implementations, and the Dropout judge's statistics.

The loops are written from the ONNX text with plain Python indices and integers, independently of
``reference``: broadcasting by reading each operand at the output index modulo its size (before
opset 7, B at A's index from ``axis``), integer division on Python ints, Gemm and MatMul as triple
loops, Gather by index arithmetic. TensorFlow's lowering of opset-6 broadcasting is checked here too,
on calls where aligning B from ``axis`` and with A's trailing axes part.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import onnx
import pytest
from hypothesis import given, settings

import reference
from conformance.case import Case
from conformance.ops import get_declaration
from conformance.ops.dense import ALPHA, binomial_tails, dropout_judge, kept_count_p_value
from conformance.profiles import profile_settings


def broadcast_read(array: np.ndarray, index: tuple[int, ...]) -> float:
    """array at the output index, under NumPy broadcasting: trailing axes aligned, size-1 axes repeated."""
    offset = len(index) - array.ndim
    return array[tuple(0 if size == 1 else index[offset + axis] for axis, size in enumerate(array.shape))]


def truncated_quotient(a: int, b: int) -> int:
    quotient = abs(a) // abs(b)
    return -quotient if (a < 0) != (b < 0) else quotient


LOOPS = {
    "Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b,
    "Div": lambda a, b: truncated_quotient(int(a), int(b)) if isinstance(a, (int, np.integer)) else a / b,
}


def legacy_read(B: np.ndarray, index: tuple[int, ...], axis: int | None) -> float:
    """B at A's index ``index`` before opset 7 (broadcast=1): B's axes are A's axes ``axis`` to
    ``axis + B.ndim - 1`` (A's last ones without ``axis``), a size-1 axis read at 0."""
    start = len(index) - B.ndim if axis is None else axis
    return B[tuple(0 if size == 1 else index[start + k] for k, size in enumerate(B.shape))]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_broadcasting_binary_operators_match_loops(op):
    declaration = get_declaration(op)

    @settings(profile_settings("ci", examples=60))
    @given(declaration.cases())
    def check(case):
        A, B = case.inputs["A"], case.inputs["B"]
        got = declaration.expected(case)[0]
        legacy = case.opset < 7
        shape = A.shape if legacy else np.broadcast_shapes(A.shape, B.shape)
        assert got.shape == shape
        integer = A.dtype.kind in "iu"
        for index in itertools.product(*(range(s) for s in shape)):
            a = A[index] if legacy else broadcast_read(A, index)
            b = legacy_read(B, index, case.attributes.get("axis")) if legacy else broadcast_read(B, index)
            a, b = (int(a), int(b)) if integer else (float(a), float(b))
            if not integer and b == 0:
                continue  # IEEE's signed infinities and NaN: checked by the backends' comparison
            assert got[index] == LOOPS[op](a, b), f"{case.describe()} at {index}"

    check()


def test_integer_division_truncates_toward_zero_and_the_variant_floors():
    A, B = np.array([-7, 7, -7, 7, -1, 0], np.int32), np.array([2, -2, -2, 2, 3, -3], np.int32)
    assert reference.evaluate("Div", [A, B], {})[0].tolist() == [-3, -3, 3, 3, 0, 0]
    assert reference.evaluate("Div", [A, B], {}, ["integer_division_floors"])[0].tolist() == [-4, -4, 3, 3, -1, 0]


def test_legacy_broadcast_aligns_b_from_axis():
    A, B = np.zeros((2, 3, 4)), np.arange(3.0)
    got = reference.evaluate("Add", [A, B], {"broadcast": 1, "axis": 1}, opset=6)[0]
    assert got.shape == (2, 3, 4) and (got[:, 2, :] == 2).all()
    with pytest.raises(ValueError, match="broadcast is not set"):
        reference.evaluate("Add", [A, B], {}, opset=6)
    # Ignoring axis aligns B with A's last axis, as NumPy does: here the shapes no longer broadcast.
    with pytest.raises(ValueError):
        reference.evaluate("Add", [A, B], {"broadcast": 1, "axis": 1}, ["legacy_axis_ignored"], opset=6)


def test_integer_div_truncates_at_opset_6_too():
    A, B = np.array([[-7, 7], [-1, 5]], np.int32), np.array([2, -2], np.int32)
    got = reference.evaluate("Div", [A, B], {"broadcast": 1, "axis": 0}, opset=6)[0]
    assert got.tolist() == [[-3, 3], [0, -2]]  # row i divided by B[i], toward zero


# Opset-6 calls where aligning B from axis and aligning it with A's trailing axes part: B's values
# land on another axis (A (3, 3), B (3,), axis 0), or the shapes no longer broadcast (A (2, 3, 4),
# B (3,), axis 1), or B's run ends before A's last axis with A's sizes repeating (A (2, 2, 2), B (2, 2)).
LEGACY_TENSORFLOW_CASES = [
    ("Add", (3, 3), (3,), 0), ("Sub", (2, 3, 4), (3,), 1), ("Mul", (2, 2, 2), (2, 2), 0),
    ("Div", (4, 3, 2), (4, 3), 0), ("Add", (2, 3, 4, 5), (3, 4), 1),
]


@pytest.mark.parametrize("op, a_shape, b_shape, axis", LEGACY_TENSORFLOW_CASES)
def test_tensorflow_lowers_opset_6_broadcasting_from_axis(op, a_shape, b_shape, axis):
    pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    from conformance.backends import load_backend
    from conformance.certify import run_example

    rng = np.random.default_rng(0)
    A, B = (rng.uniform(1, 2, shape).astype(np.float32) for shape in (a_shape, b_shape))
    case = Case(op, {"A": A, "B": B}, {"broadcast": 1, "axis": axis}, outputs=("C",), opset=6)
    declaration = get_declaration(op)
    spec = declaration.expected(case)[0]
    try:  # the case tells the two alignments apart
        trailing = declaration.expected(case, ["legacy_axis_ignored"])[0]
        assert trailing.shape != spec.shape or not np.allclose(trailing, spec)
    except ValueError:
        pass
    outcome = run_example(declaration, load_backend("tensorflow"), case)
    assert outcome.status == "agree", f"{case.describe()}: {outcome.status}: {outcome.message}"


def test_gemm_matches_a_triple_loop():
    declaration = get_declaration("Gemm")

    @settings(profile_settings("ci", examples=40))
    @given(declaration.cases())
    def check(case):
        A, B, C = case.inputs["A"], case.inputs["B"], case.inputs.get("C")
        a = case.attributes
        A_ = A.T if a.get("transA", 0) else A
        B_ = B.T if a.get("transB", 0) else B
        alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
        got = declaration.expected(case)[0]
        for m, n in itertools.product(range(A_.shape[0]), range(B_.shape[1])):
            total = sum(float(A_[m, k]) * float(B_[k, n]) for k in range(A_.shape[1]))
            want = alpha * total + (beta * float(broadcast_read(C, (m, n))) if C is not None else 0.0)
            assert math.isclose(got[m, n], want, rel_tol=1e-12, abs_tol=1e-12), case.describe()

    check()


def test_gemm_6_draws_c_of_y_shape_without_broadcast_and_only_unambiguous_shapes_with_it():
    """Gemm-6 does not say how a broadcast C lines up: with broadcast=1 only the shapes on which the
    legacy rule of opset-6 binary operators (size 1, or a suffix of (M, N)) and NumPy's agree are
    drawn; without it (absent or 0) C has Y's shape (M, N), and the reference refuses any other."""
    declaration = get_declaration("Gemm")
    seen = set()

    @settings(profile_settings("ci", examples=60))
    @given(declaration.cases(pins={"opset": 6}))
    def check(case):
        features = declaration.features(case)
        seen.add((features["broadcast"], "broadcast" in case.attributes))
        allowed = ("scalar", "one", "row_vector", "matrix") if features["broadcast"] else ("matrix",)
        assert features["C_shape"] in allowed and not features["integer"], case.describe()

    check()
    assert seen == {(0, False), (0, True), (1, True)}, seen
    A, B = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(ValueError, match="without broadcast"):
        reference.evaluate("Gemm", [A, B, np.ones(4)], {}, opset=6)
    assert reference.evaluate("Gemm", [A, B, np.ones(4)], {"broadcast": 1}, opset=6)[0].shape == (2, 4)
    assert reference.evaluate("Gemm", [A, B, np.ones(4)], {}, opset=7)[0].shape == (2, 4)
    with pytest.raises(ValueError, match="requires C"):
        reference.evaluate("Gemm", [A, B, None], {}, opset=9)


def test_matmul_matches_loops_with_promoted_operands():
    declaration = get_declaration("MatMul")

    @settings(profile_settings("ci", examples=40))
    @given(declaration.cases())
    def check(case):
        A, B = case.inputs["A"], case.inputs["B"]
        A2, B2 = (A[None, :] if A.ndim == 1 else A), (B[:, None] if B.ndim == 1 else B)
        batch = np.broadcast_shapes(A2.shape[:-2], B2.shape[:-2])
        M, K, N = A2.shape[-2], A2.shape[-1], B2.shape[-1]
        got = declaration.expected(case)[0]
        expected_shape = batch + ((M,) if A.ndim > 1 else ()) + ((N,) if B.ndim > 1 else ())
        assert got.shape == expected_shape, case.describe()
        full = got.reshape(batch + (M, N))
        for index in itertools.product(*(range(s) for s in batch + (M, N))):
            *b, m, n = index
            a_rows = [broadcast_read(A2[..., m, k], tuple(b)) for k in range(K)]
            b_cols = [broadcast_read(B2[..., k, n], tuple(b)) for k in range(K)]
            want = sum(float(x) * float(y) for x, y in zip(a_rows, b_cols))
            assert math.isclose(full[index], want, rel_tol=1e-12, abs_tol=1e-12), case.describe()

    check()


def test_gather_matches_index_arithmetic():
    declaration = get_declaration("Gather")

    @settings(profile_settings("ci", examples=60))
    @given(declaration.cases())
    def check(case):
        data, indices = case.inputs["data"], case.inputs["indices"]
        axis = case.attributes.get("axis", 0) % data.ndim
        got = declaration.expected(case)[0]
        assert got.shape == data.shape[:axis] + indices.shape + data.shape[axis + 1:]
        for out in itertools.product(*(range(s) for s in got.shape)):
            before, chosen, after = out[:axis], out[axis:axis + indices.ndim], out[axis + indices.ndim:]
            k = int(indices[chosen])
            k = k + data.shape[axis] if k < 0 else k
            assert got[out] == data[before + (k,) + after]

    check()


# -- the Dropout judge ----------------------------------------------------------------------------


def test_binomial_tails_match_exact_sums():
    for n, k, p in [(10, 3, 0.3), (50, 40, 0.7), (200, 100, 0.5), (7, 0, 0.9), (7, 7, 0.1)]:
        pmf = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
        below, above = binomial_tails(n, k, p)
        assert below == pytest.approx(sum(pmf[:k + 1]), rel=1e-9)
        assert above == pytest.approx(sum(pmf[k:]), rel=1e-9)


def _training_case(data: np.ndarray, ratio: float, mask: bool = True) -> Case:
    inputs = {"data": data, "ratio": np.asarray(ratio, data.dtype), "training_mode": np.asarray(True)}
    return Case("Dropout", inputs, outputs=("output", "mask") if mask else ("output",), opset=13)


def _dropout(data, ratio, keep_probability, rng):
    """As a float32 backend computes it: from the ratio it was given, rounded to the data's dtype."""
    mask = rng.random(data.shape) < keep_probability
    given = data.dtype.type(ratio)
    return [(data * mask * (data.dtype.type(1) / (data.dtype.type(1) - given))).astype(data.dtype), mask]


@pytest.mark.parametrize("ratio", [0.1, 0.5, 0.9])
def test_a_correct_dropout_passes_the_judge_every_time(ratio):
    """A false alarm needs probability <= ALPHA per example; 300 honest draws must all pass."""
    rng = np.random.default_rng(7)
    data = rng.standard_normal(1024).astype(np.float32)
    for mask_requested in (True, False):
        case = _training_case(data, ratio, mask_requested)
        for _ in range(150):
            outputs = _dropout(data, ratio, 1 - ratio, rng)[:len(case.outputs)]
            verdict = dropout_judge(case, outputs)
            assert verdict is not None and verdict.ok, verdict.message


def test_the_judge_rejects_a_rate_off_by_a_tenth_on_a_thousand_elements():
    rng = np.random.default_rng(8)
    data = rng.standard_normal(1024).astype(np.float32)
    case = _training_case(data, 0.5)
    rejected = sum(not dropout_judge(case, _dropout(data, 0.5, 0.4, rng)).ok for _ in range(50))
    assert rejected >= 45, f"only {rejected} of 50 wrong-rate masks rejected"
    # The p-value behind it: 410 kept of 1024 at p = 0.5 is far beyond ALPHA.
    assert kept_count_p_value(np.arange(1024) < 410, 0.5) < ALPHA / 3


def test_the_judge_rejects_a_wrong_scale_and_nonzero_dropped_elements():
    rng = np.random.default_rng(9)
    data = rng.standard_normal(64).astype(np.float32)
    case = _training_case(data, 0.25)
    output, mask = _dropout(data, 0.25, 0.75, rng)
    assert dropout_judge(case, [output * np.float32(1.001), mask]).problem == "bound"
    leaked = np.where(mask, output, data)
    assert dropout_judge(case, [leaked, mask]).problem == "bound"
    assert dropout_judge(case, [output, ~mask]).problem == "bound"


def test_the_judge_leaves_deterministic_calls_to_the_reference():
    data = np.ones(4, np.float32)
    assert dropout_judge(Case("Dropout", {"data": data}, opset=13), [data]) is None
    zero_ratio = Case("Dropout", {"data": data, "ratio": np.asarray(0.0, np.float32), "training_mode": np.asarray(True)}, opset=13)
    assert dropout_judge(zero_ratio, [data]) is None


@pytest.mark.parametrize(("opset", "mask_dtype"), [(7, np.float64), (9, np.float64), (10, np.bool_), (13, np.bool_)])
def test_dropouts_mask_has_the_datas_type_before_opset_10_and_is_boolean_from_it(opset, mask_dtype):
    # Dropout-7 to -9: "mask (optional) : T" (the data's type); Dropout-10: "mask (optional) : T1", tensor(bool).
    schema = onnx.defs.get_schema("Dropout", opset)
    assert (schema.outputs[1].type_str == "T") == (opset < 10)
    data = np.array([1.5, -2.0], np.float32)
    output, mask = reference.evaluate("Dropout", [data], {"ratio": 0.25} if opset < 12 else {}, opset=opset,
                                      output_count=2)
    assert mask.dtype == mask_dtype and (mask == 1).all() and (output == data).all()


@pytest.mark.parametrize("opset", [7, 9, 10, 11])
def test_an_inference_mask_before_opset_12_is_not_judged_but_the_output_is(opset):
    # Before opset 12 the text does not say what an inference mask holds (onnxruntime: zeros;
    # onnx.reference: ones); from 12, output = scale * data * mask makes it all ones.
    declaration = get_declaration("Dropout")
    data = np.array([[1.5, -2.0, 0.25]], np.float32)
    case = Case("Dropout", {"data": data}, {"ratio": 0.5}, outputs=("output", "mask"), opset=opset)
    mask_type = np.float32 if opset < 10 else np.bool_
    zeros = declaration.verdict(case, [data.copy(), np.zeros(data.shape, mask_type)])
    assert zeros.ok and zeros.judged_elements == data.size and zeros.elements == 2 * data.size
    assert not declaration.verdict(case, [data * 2, np.ones(data.shape, mask_type)]).ok
    assert not declaration.verdict(case, [data.copy(), np.ones(data.shape, np.int64)]).ok  # its type is judged
    opset12 = Case("Dropout", {"data": data}, outputs=("output", "mask"), opset=12)
    assert not declaration.verdict(opset12, [data.copy(), np.zeros(data.shape, np.bool_)]).ok  # all ones from 12
