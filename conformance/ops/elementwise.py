"""Elementwise arithmetic with broadcasting: the cases to draw, their features, the error bounds.

Cases
-----
Every operand gets a shape that broadcasts to a drawn output shape of rank 0 to 4 (at most
6**4 elements): the full shape, some axes set to 1, leading axes dropped, or a 0-d scalar; now
and then an axis of size 0. Add, Sub, Mul and Div are drawn at opset 14 (six draws in ten) and at
6, 7 and 13: opset 7 first broadcast multidirectionally, 13 changed only types this suite does not
draw (bfloat16), 14 added 8- and 16-bit integers (not drawn either). At opset 6, B broadcasts onto
A only with ``broadcast=1``, in one of the forms the Add-6 text lists: A's own shape, a 0-d
scalar, a 1-element tensor, A's trailing axes (``axis`` omitted or given), or a contiguous run of
A's axes that ends before its last, ``axis`` naming where it starts (the form where aligning B
from ``axis`` and aligning it with A's trailing axes part); without ``broadcast``, B has A's shape.
Opset 6 takes int32 and int64 too (Div truncating), so the dtypes are the same at every opset.
Values are float32 mostly, float16 and float64 too, int32 and int64 where the operator takes
integers, over six decades of scale. The corners where conventions
differ are favoured: negative integer quotients that are not exact (truncating versus flooring
Div), negative bases with integer exponents and 0 ** 0 (Pow through exp(y*log(x)) gives NaN there), NaN
operands of Max and Min (propagated or ignored), division by zero, zero and negative inputs of
Sqrt and Log, and one to four inputs of the variadic operators.

Error bounds
------------
Inputs are exact (the reference reads the very arrays the backend got), so every error below
is the operator's own rounding. ``u`` is the unit roundoff of the output dtype (2**-11, 2**-24,
2**-53), ``ulp(y)`` the spacing of that dtype's numbers in the binade of ``|y|`` (at least the
smallest subnormal), and ``tiny`` its smallest normal number.

- Add, Sub, Mul, Div, Sqrt, Reciprocal are correctly rounded by IEEE 754, which every CPU
  backend implements (half precision computed in float32 and rounded again is still correctly
  rounded, since 24 >= 2*11 + 2 bits makes double rounding innocuous for these operations):
  error <= 0.5 ulp(y).
- Exp, Log, Erf, Pow are not correctly rounded by any common library. The budget is the
  accuracy the OpenCL C specification requires of its full-profile built-ins, the one published
  standard for vectorized math (section 7.4, "Relative Error as ULPs"): exp and log 3 ulp, erf
  and pow 16 ulp in float32 and float64; exp and log 2 ulp, erf and pow 4 ulp in half precision.
  Measured on 2e5 inputs over the drawn ranges: onnxruntime 1.32 within 0.9 (exp), 2.8 (log),
  0.9 (erf), 1.3 (pow) ulp in float32; TensorFlow 2.21 within 2.7 (log), 4.8 (erf), 1.3 (pow);
  NumPy's SIMD float32 functions (onnx.reference) within 2.2 (exp) and 2.9 (log).
- Sum of n inputs: n - 1 additions in any order, |error| <= gamma_(n-1) * sum|x_i| (Higham 3.1);
  Mean adds a division by n, or a multiplication by a rounded 1/n: gamma_(n+1) * sum|x_i| / n.
- Abs, Neg, Max, Min, Where move or select values: exact.

To each bound two terms are added: the reference's own float64 rounding (0.5 ulp of float64 for
a correctly rounded operation, 1 ulp for the libm functions, gamma_n(2**-53) for a sum), which
matters for float64 cases only; and ``tiny`` per rounding, for backends that flush subnormal
results to zero (TensorFlow's exp does). Integer results are exact.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

import reference
from conformance.case import Case
from conformance.ops.declaration import OpDeclaration
from conformance.strategies import Draws, float_array, float_dtypes
from conformance.strategies import built_once as st
from conformance.tolerance import Derived, Exact, gamma, unit_roundoff

MAX_RANK, MAX_DIM = 4, 6
FLOAT64_ROUNDOFF = 2.0 ** -53


# -- draws ----------------------------------------------------------------------------------------


def output_shape(d: Draws) -> list[int]:
    """The shape every operand broadcasts to: rank 0 to 4, sizes 1 to 6, now and then one of size 0."""
    rank = d("rank", st.sampled_from((0, 1, 1, 2, 2, 2, 3, 3, 4)))
    dims = d("dims", st.lists(st.integers(1, MAX_DIM), min_size=rank, max_size=rank))
    if rank and d("empty", st.sampled_from((False,) * 19 + (True,))):
        dims[d("empty_axis", st.integers(0, rank - 1))] = 0
    return dims


def operand_shape(d: Draws, label: str, dims: Sequence[int]) -> list[int]:
    """A shape that broadcasts to ``dims``: the same, some axes 1, leading axes dropped, or 0-d."""
    rank = len(dims)
    kind = d(f"{label}.shape", st.sampled_from(("full", "full", "ones", "lower_rank", "scalar")))
    if kind == "scalar" or rank == 0:
        return []
    shape = list(dims)
    if kind == "lower_rank":
        shape = shape[d(f"{label}.dropped_axes", st.integers(1, rank)):]
    if kind in ("ones", "lower_rank") and shape:
        ones = d(f"{label}.ones", st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
        shape = [1 if one else size for one, size in zip(ones, shape)]
    return shape


def integer_array(d: Draws, label: str, shape: Sequence[int], dtype: str, low: int, high: int,
                  exclude_zero: bool = False) -> np.ndarray:
    """Integers in [low, high] (without 0 if asked), from a drawn seed."""
    rng = np.random.default_rng(d(f"{label}.seed", st.integers(0, 2**32 - 1)))
    values = rng.integers(low, high + 1, shape)
    if exclude_zero:
        values = np.where(values == 0, high, values)
    return np.asarray(values).astype(dtype)


def values(d: Draws, label: str, shape: Sequence[int], dtype: str, integer_range: tuple[int, int] = (-100, 100)) -> np.ndarray:
    """A float array (drawn scale and distribution) or, for an integer dtype, integers in a range."""
    if np.dtype(dtype).kind == "f":
        return np.asarray(float_array(d, label, shape, dtype))  # a 0-d array, not a NumPy scalar
    return integer_array(d, label, shape, dtype, *integer_range)


def with_nans(d: Draws, label: str, x: np.ndarray) -> np.ndarray:
    """``x`` with NaN at a few drawn positions (floating-point only), or unchanged."""
    if x.dtype.kind != "f" or not x.size or not d(f"{label}.nan", st.sampled_from((False, False, False, True))):
        return x
    rng = np.random.default_rng(d(f"{label}.nan_seed", st.integers(0, 2**32 - 1)))
    x = x.copy()
    x.flat[rng.choice(x.size, size=max(1, x.size // 4), replace=False)] = np.nan
    return x


def dtypes(integers: bool) -> st.SearchStrategy[str]:
    """float32 mostly, float16 and float64, and int32/int64 for operators that take integers."""
    if not integers:
        return float_dtypes()
    return st.sampled_from(("float32",) * 5 + ("float16", "float64", "int32", "int64"))


def input_names(count: int, names: Sequence[str] | None = None) -> list[str]:
    return list(names) if names else [f"data_{i}" for i in range(count)]


# Add, Sub, Mul, Div: 14 (the current definition) first, so that a shrunk counterexample that fails
# at every opset is shown at the current one, then 6, 7 and 13 (four draws in ten between them).
BINARY_OPSETS = (14, 14, 14, 14, 14, 14, 6, 6, 7, 13)
# The forms B takes at opset 6: "none", without broadcast (B has A's shape); with broadcast=1 (the
# Add-6 text and its examples), A's own shape, a 0-d scalar, a 1-element tensor of rank 1 to A's,
# A's trailing axes (axis omitted or given), or a contiguous run of A's axes that ends before A's
# last ("inner", axis given). The least rank of A each needs:
LEGACY_FORMS = {"none": 0, "equal": 0, "scalar": 0, "one_element": 1, "trailing": 2, "inner": 2}
LEGACY_FORM_DRAWS = ("none", "equal", "scalar", "scalar", "one_element", "trailing", "trailing", "inner", "inner")


def legacy_operand(d: Draws, dims: Sequence[int]) -> tuple[list[int], dict[str, int]]:
    """B's shape and the ``broadcast``/``axis`` attributes of an opset-6 call with A of shape ``dims``.

    Without ``broadcast`` (omitted, or 0: form "none") B has A's shape. With ``broadcast=1``, B takes
    one of the other ``LEGACY_FORMS``: "the second tensor can either be of element size 1 (including
    a scalar tensor and any tensor with rank equal to or smaller than the first tensor), or having
    its shape as a contiguous subset of the first tensor's shape. The starting of the mutually equal
    shape is specified by the argument axis, and if it is not set, suffix matching is assumed. 1-dim
    expansion doesn't work yet" (https://onnx.ai/onnx/operators/onnx__Add.html#add-6). ``axis`` is never negative (the
    text does not say what a negative one means) and never given for a scalar or 1-element B (the
    text does not say where those start either)."""
    rank = len(dims)
    form = d("legacy_form", st.sampled_from(tuple(f for f in LEGACY_FORM_DRAWS if rank >= LEGACY_FORMS[f])))
    if form == "none":
        return list(dims), ({"broadcast": 0} if d("broadcast_given", st.booleans()) else {})
    attributes = {"broadcast": 1}
    if form == "scalar":
        return [], attributes
    if form == "one_element":
        return [1] * d("B.rank", st.integers(1, rank)), attributes
    if form == "inner":
        axis = d("axis", st.integers(0, rank - 2))
        length = d("B.rank", st.integers(1, rank - 1 - axis))
        return list(dims[axis:axis + length]), {**attributes, "axis": axis}
    start = 0 if form == "equal" else d("B.dropped_axes", st.integers(1, rank - 1))
    if d("axis_given", st.booleans()):
        attributes["axis"] = start
    return list(dims[start:]), attributes


@st.composite
def binary_cases(draw, op_type: str, pins: Mapping[str, Any] | None = None) -> Case:
    """Add, Sub, Mul, Div: two operands of one dtype, broadcast multidirectionally (opset 7 on), or
    B onto A as opset 6 defines it (``legacy_operand``)."""
    d = Draws(draw, pins)
    opset = d("opset", st.sampled_from(BINARY_OPSETS))
    dtype = d("dtype", dtypes(integers=True))
    dims = output_shape(d)
    attributes: dict[str, int] = {}
    if opset < 7:
        a_shape = list(dims)
        b_shape, attributes = legacy_operand(d, dims)
    else:
        a_shape = operand_shape(d, "A", dims)
        b_shape = operand_shape(d, "B", dims)
    A = values(d, "A", a_shape, dtype, (-50, 50))
    if op_type == "Div" and A.dtype.kind in "iu":
        B = integer_array(d, "B", b_shape, dtype, -7, 7, exclude_zero=True)  # integer x/0 is undefined
    else:
        B = values(d, "B", b_shape, dtype, (-50, 50))
    return Case(op_type, {"A": A, "B": B}, attributes, outputs=("C",), opset=opset, draws=d.record)


@st.composite
def pow_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """Pow: a float base with a float or integer exponent, or an integer base with an integer exponent."""
    d = Draws(draw, pins)
    dtype = d("dtype", dtypes(integers=True))
    dims = output_shape(d)
    x_shape, y_shape = operand_shape(d, "X", dims), operand_shape(d, "Y", dims)
    if dtype in ("int32", "int64"):
        X = integer_array(d, "X", x_shape, dtype, -6, 6)
        Y = integer_array(d, "Y", y_shape, d("exponent_dtype", st.sampled_from(("int32", "int64"))), 0, 6)
        return Case("Pow", {"X": X, "Y": Y}, outputs=("Z",), draws=d.record)
    X = np.asarray(float_array(d, "X", x_shape, dtype))
    exponent_dtype = d("exponent_dtype", st.sampled_from((dtype, dtype, "int32", "int64")))
    if exponent_dtype in ("int32", "int64"):
        Y = integer_array(d, "Y", y_shape, exponent_dtype, -3, 4)
    else:
        kind = d("exponent_values", st.sampled_from(("integer_valued", "halves", "general")))
        rng = np.random.default_rng(d("Y.seed", st.integers(0, 2**32 - 1)))
        if kind == "integer_valued":
            Y = rng.integers(-3, 5, y_shape).astype(exponent_dtype)
        elif kind == "halves":
            Y = rng.choice([-0.5, 0.5, 1.5, 2.5], y_shape).astype(exponent_dtype)
        else:
            Y = rng.uniform(-3, 3, y_shape).astype(exponent_dtype)
        Y = np.asarray(Y)
    return Case("Pow", {"X": X, "Y": Y}, outputs=("Z",), draws=d.record)


@st.composite
def variadic_cases(draw, op_type: str, integers: bool, nans: bool, pins: Mapping[str, Any] | None = None) -> Case:
    """Max, Min, Sum, Mean: one to four operands of one dtype, broadcast together."""
    d = Draws(draw, pins)
    dtype = d("dtype", dtypes(integers))
    dims = output_shape(d)
    count = d("n_inputs", st.sampled_from((1, 2, 2, 3, 4)))
    inputs = {}
    for i in range(count):
        x = values(d, f"data_{i}", operand_shape(d, f"data_{i}", dims), dtype)
        inputs[f"data_{i}"] = with_nans(d, f"data_{i}", x) if nans else x
    return Case(op_type, inputs, outputs=(op_type.lower(),), draws=d.record)


@st.composite
def unary_cases(draw, op_type: str, integers: bool, signs: str, pins: Mapping[str, Any] | None = None) -> Case:
    """One operand. ``signs``: "any", or "positive" (Sqrt, Log), which still draws zeros and
    negative values now and then, where the result is -inf or NaN."""
    d = Draws(draw, pins)
    dtype = d("dtype", dtypes(integers))
    x = values(d, "X", output_shape(d), dtype)
    if signs == "positive":
        x = np.asarray(np.abs(x))
        if x.size and d("X.outside_domain", st.sampled_from((False, False, False, True))):
            x = x.copy()
            x.flat[::3] = -x.flat[::3]
    name = "X" if op_type in ("Sqrt", "Abs", "Neg", "Reciprocal") else "input"
    output = "Y" if name == "X" else "output"
    return Case(op_type, {name: x}, outputs=(output,), draws=d.record)


@st.composite
def where_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """Where: a boolean condition and two operands, all three broadcast together."""
    d = Draws(draw, pins)
    dtype = d("dtype", dtypes(integers=True))
    dims = output_shape(d)
    rng = np.random.default_rng(d("condition.seed", st.integers(0, 2**32 - 1)))
    condition = np.asarray(rng.random(operand_shape(d, "condition", dims))) < d("condition.true_fraction", st.sampled_from((0.2, 0.5, 0.8)))
    X = values(d, "X", operand_shape(d, "X", dims), dtype)
    Y = values(d, "Y", operand_shape(d, "Y", dims), dtype)
    return Case("Where", {"condition": np.asarray(condition), "X": X, "Y": Y}, draws=d.record, outputs=("output",))


# -- features -------------------------------------------------------------------------------------


def legacy_form(case: Case) -> str:
    """How B meets A in an Add/Sub/Mul/Div call: "multidirectional" from opset 7 on; before, "none"
    (``broadcast`` not set), "scalar", "inner" (``axis`` given and B's axes end before A's last),
    "equal", "one_element" or "trailing" (see ``legacy_operand``)."""
    if case.opset >= 7:
        return "multidirectional"
    A, B = case.inputs["A"], case.inputs["B"]
    axis = case.attributes.get("axis")
    if not case.attributes.get("broadcast"):
        return "none"
    if B.ndim == 0:
        return "scalar"
    if axis is not None and (axis % max(A.ndim, 1)) + B.ndim < A.ndim:
        return "inner"
    if B.shape == A.shape:
        return "equal"
    return "one_element" if B.size == 1 else "trailing"


def _aligned(case: Case) -> list[np.ndarray]:
    """The operands with B's axes aligned as opset 6 aligns them (from ``axis``), so that NumPy's
    broadcasting gives the call's output shape."""
    arrays = [a for a in case.inputs.values() if a is not None]
    axis = case.attributes.get("axis")
    if case.opset < 7 and case.attributes.get("broadcast") and axis is not None and arrays[1].ndim:
        A, B = arrays
        axis = axis % max(A.ndim, 1)
        arrays[1] = B.reshape(B.shape + (1,) * max(A.ndim - axis - B.ndim, 0))
    return arrays


def binary_features(case: Case) -> dict[str, Any]:
    """Add, Sub, Mul, Div: the shape features, the opset and, before 7, how B meets A."""
    features = shape_features(case)
    features["opset"] = case.opset
    features["legacy_form"] = legacy_form(case)
    features["legacy_broadcast"] = int(case.attributes.get("broadcast", 0)) if case.opset < 7 else None
    features["axis_given"] = "axis" in case.attributes
    return features


def shape_features(case: Case) -> dict[str, Any]:
    """What every elementwise case has: dtype, output rank, how the operands broadcast."""
    arrays = [a for a in case.inputs.values() if a is not None]
    shapes = [a.shape for a in arrays]
    output = np.broadcast_shapes(*(a.shape for a in _aligned(case)))
    numeric = [a for a in arrays if a.dtype.kind != "b"]
    return {
        "dtype": str(numeric[0].dtype) if numeric else str(arrays[0].dtype),
        "integer": bool(numeric) and numeric[0].dtype.kind in "iu",
        "rank": len(output),
        "n_inputs": len(arrays),
        "broadcast": len(set(shapes)) > 1,
        "scalar_operand": any(len(s) == 0 for s in shapes) and len(output) > 0,
        "rank_differs": len({len(s) for s in shapes}) > 1,
        # The first operand is smaller than the result (an implementation that accumulates into a
        # copy of the first operand must broadcast it first).
        "first_operand_broadcast": shapes[0] != output,
        "empty": 0 in output,
        "has_nan": any(a.dtype.kind == "f" and bool(np.isnan(a).any()) for a in arrays),
        "has_negative": any(bool((a < 0).any()) for a in numeric),
        "has_zero": any(bool((a == 0).any()) for a in numeric),
    }


def div_features(case: Case) -> dict[str, Any]:
    features = binary_features(case)
    A, B = (x.astype(np.float64) for x in _aligned(case))
    with np.errstate(all="ignore"):
        quotient = A / B
    features["negative_inexact_quotient"] = bool(features["integer"] and np.any((quotient < 0) & (quotient != np.trunc(quotient))))
    features["divide_by_zero"] = bool(np.any(B == 0))
    return features


def pow_features(case: Case) -> dict[str, Any]:
    features = shape_features(case)
    X, Y = case.inputs["X"], case.inputs["Y"]
    features["exponent_dtype"] = str(Y.dtype)
    features["mixed_types"] = X.dtype != Y.dtype
    Xb, Yb = np.broadcast_arrays(X.astype(np.float64), Y.astype(np.float64))
    features["negative_base_integer_exponent"] = bool(np.any((Xb < 0) & (Yb == np.round(Yb))))
    features["fractional_exponent"] = bool(np.any(Yb != np.round(Yb)))
    return features


# -- error bounds ---------------------------------------------------------------------------------


def ulp(y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The spacing of ``dtype``'s numbers in the binade of each |y| (at least the smallest subnormal)."""
    info = np.finfo(dtype)
    with np.errstate(all="ignore"):
        _, exponent = np.frexp(np.abs(np.asarray(y, dtype=np.float64)))  # |y| = m * 2**e, m in [0.5, 1)
        spacing = np.ldexp(float(info.eps), exponent - 1)
    return np.maximum(spacing, float(info.smallest_subnormal))


def _reference_output(case: Case, variants: Iterable[str]) -> np.ndarray:
    return reference.evaluate(case.op_type, list(case.inputs.values()), case.attributes, variants, case.opset)[0]


def ulp_bound(budget: Mapping[str, float], reference_ulps: float) -> Callable[[Case, Iterable[str]], list]:
    """``budget[dtype]`` ulps of the output dtype, plus the reference's own float64 ulps, plus tiny."""

    def bounds(case: Case, variants: Iterable[str] = ()) -> list:
        dtype = case.output_dtypes[0]
        if dtype.kind != "f":
            return [0.0]
        y = _reference_output(case, variants)
        k = budget.get(str(dtype), budget["float32"])
        return [k * ulp(y, dtype) + reference_ulps * ulp(y, np.float64) + float(np.finfo(dtype).tiny)]

    return bounds


def summation_bound(case: Case, variants: Iterable[str] = ()) -> list:
    """Sum: gamma_(n-1) * sum|x_i|; Mean: gamma_(n+1) * sum|x_i| / n (see the module docstring)."""
    dtype = case.output_dtypes[0]
    arrays = [np.abs(a.astype(np.float64)) for a in case.inputs.values()]
    n = len(arrays)
    magnitude = reference.evaluate(case.op_type, arrays, {}, (), case.opset)[0]
    roundings = n - 1 if case.op_type == "Sum" else n + 1
    return [(gamma(roundings, unit_roundoff(dtype)) + gamma(roundings, FLOAT64_ROUNDOFF)) * magnitude
            + roundings * float(np.finfo(dtype).tiny)]


CORRECTLY_ROUNDED = {"float16": 0.5, "float32": 0.5, "float64": 0.5}
EXP_LOG_ULPS = {"float16": 2.0, "float32": 3.0, "float64": 3.0}
ERF_POW_ULPS = {"float16": 4.0, "float32": 16.0, "float64": 16.0}


def correctly_rounded() -> Derived:
    return Derived(ulp_bound(CORRECTLY_ROUNDED, 0.5), "0.5 ulp (correctly rounded) + 0.5 ulp of float64 + tiny",
                   reference_error_included=True)


def libm(budget: Mapping[str, float], names: str) -> Derived:
    summary = ", ".join(f"{k} {v:g}" for k, v in budget.items())
    return Derived(ulp_bound(budget, 1.0), f"{names}: ulps of the output dtype ({summary}) + 1 ulp of float64 + tiny",
                   reference_error_included=True)


# -- declarations ---------------------------------------------------------------------------------

SHAPE_CORNERS = ("broadcast", "scalar_operand", "rank_differs", "empty", "rank=0", "rank=4")
FLOAT_CORNERS = ("dtype=float32", "dtype=float16", "dtype=float64")
INTEGER_CORNERS = ("dtype=int32", "dtype=int64")


# Each opset drawn, and each form B takes at opset 6 (``legacy_operand``).
OPSET_CORNERS = ("opset=6", "opset=7", "opset=13", "opset=14", "legacy_broadcast=0", "legacy_broadcast=1",
                 "legacy_form=scalar", "legacy_form=one_element", "legacy_form=trailing", "legacy_form=inner",
                 "legacy_form=equal", "axis_given")


def _binary(op_type: str, summary: str, features=binary_features, corners: tuple[str, ...] = ()) -> OpDeclaration:
    return OpDeclaration(
        op_type=op_type, summary=summary,
        cases=lambda pins=None: binary_cases(op_type, pins),
        tolerance=correctly_rounded(), features=features,
        corners=FLOAT_CORNERS + INTEGER_CORNERS + SHAPE_CORNERS + OPSET_CORNERS + ("has_negative",) + corners,
    )


def _variadic(op_type: str, summary: str, integers: bool, nans: bool, tolerance) -> OpDeclaration:
    corners = FLOAT_CORNERS + (INTEGER_CORNERS if integers else ()) + SHAPE_CORNERS
    corners += ("n_inputs=1", "n_inputs=2", "n_inputs=3", "n_inputs=4") + (("has_nan",) if nans else ())
    return OpDeclaration(
        op_type=op_type, summary=summary,
        cases=lambda pins=None: variadic_cases(op_type, integers, nans, pins),
        tolerance=tolerance, features=shape_features, corners=corners,
    )


def _unary(op_type: str, summary: str, tolerance, integers: bool = False, signs: str = "any") -> OpDeclaration:
    corners = FLOAT_CORNERS + (INTEGER_CORNERS if integers else ()) + SHAPE_CORNERS[3:]
    corners += ("has_negative", "has_zero") if signs == "positive" else ("has_negative",)
    return OpDeclaration(
        op_type=op_type, summary=summary,
        cases=lambda pins=None: unary_cases(op_type, integers, signs, pins),
        tolerance=tolerance, features=shape_features, corners=corners,
    )


DECLARATIONS = (
    _binary("Add", "elementwise A + B with multidirectional broadcasting (opset 7, 13, 14), or B onto A from axis (6)"),
    _binary("Sub", "elementwise A - B with multidirectional broadcasting (opset 7, 13, 14), or B onto A from axis (6)"),
    _binary("Mul", "elementwise A * B with multidirectional broadcasting (opset 7, 13, 14), or B onto A from axis (6)"),
    _binary("Div", "elementwise A / B with multidirectional broadcasting (opset 7, 13, 14), or B onto A from axis"
                   " (6); integer quotients truncated toward zero at every opset",
            features=div_features, corners=("negative_inexact_quotient", "divide_by_zero")),
    OpDeclaration(
        op_type="Pow", summary="elementwise X ** Y with broadcasting; float or integer exponents",
        cases=pow_cases, tolerance=libm(ERF_POW_ULPS, "pow"), features=pow_features,
        corners=FLOAT_CORNERS + INTEGER_CORNERS + SHAPE_CORNERS + (
            "mixed_types", "exponent_dtype=int32", "exponent_dtype=int64", "negative_base_integer_exponent",
            "fractional_exponent"),
    ),
    _variadic("Max", "elementwise maximum of 1 to N inputs with broadcasting; NaN propagates", True, True, Exact()),
    _variadic("Min", "elementwise minimum of 1 to N inputs with broadcasting; NaN propagates", True, True, Exact()),
    _variadic("Sum", "elementwise sum of 1 to N inputs with broadcasting", False, False,
              Derived(summation_bound, "gamma_(n-1)(u) * sum|x_i| + float64's own + (n-1)*tiny", True)),
    _variadic("Mean", "elementwise mean of 1 to N inputs with broadcasting", False, False,
              Derived(summation_bound, "gamma_(n+1)(u) * sum|x_i| / n + float64's own + (n+1)*tiny", True)),
    _unary("Sqrt", "elementwise square root; NaN below 0", correctly_rounded(), signs="positive"),
    _unary("Exp", "elementwise e ** x", libm(EXP_LOG_ULPS, "exp")),
    _unary("Log", "elementwise natural logarithm; -inf at 0, NaN below", libm(EXP_LOG_ULPS, "log"), signs="positive"),
    _unary("Abs", "elementwise |x|", Exact(), integers=True),
    _unary("Neg", "elementwise -x", Exact(), integers=True),
    _unary("Reciprocal", "elementwise 1 / x", correctly_rounded()),
    _unary("Erf", "elementwise error function", libm(ERF_POW_ULPS, "erf")),
    OpDeclaration(
        op_type="Where", summary="elementwise selection between X and Y by a boolean condition, broadcast",
        cases=where_cases, tolerance=Exact(), features=shape_features,
        corners=FLOAT_CORNERS + INTEGER_CORNERS + SHAPE_CORNERS,
    ),
)
