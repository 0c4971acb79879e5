"""Elementwise arithmetic with broadcasting, as the ONNX specification defines it, in float64.

- binary: Add, Sub, Mul, Div, Pow (https://onnx.ai/onnx/operators/onnx__Div.html, ...)
- variadic: Max, Min, Sum, Mean
- unary: Sqrt, Exp, Log, Abs, Neg, Reciprocal, Erf
- selection: Where

Since opset 7 every operand broadcasts multidirectionally, as in NumPy
(https://github.com/onnx/onnx/blob/main/docs/Broadcasting.md). Before opset 7 the binary
operators broadcast B onto A only when ``broadcast=1``, B's axes aligned with A's from ``axis``
(or with A's trailing axes), which ONNX's ``pytorch-operator`` data sets still use. The Add-6
text allows a B "of element size 1", or "having its shape as a contiguous subset of the first
tensor's shape", and says "1-dim expansion doesn't work yet"; the shipped pytorch-operator
models nevertheless use it (``test_operator_add_size1_broadcast``: A (2, 3), B (2, 1), axis 0),
and the reference accepts it as NumPy does once B's axes are aligned.

Floating-point inputs are computed in float64 and returned as float64; integer inputs in exact
64-bit integer arithmetic (the drawn cases never overflow), returned as int64 (uint64 for
unsigned inputs). Integer Div truncates toward zero: "For integer inputs, the result is computed
using truncating division (rounding toward zero)" is in the text of every Div that takes
integers (6, 7, 13, 14; Div-1 takes float types only), as ``onnx.defs.get_schema("Div", v).doc``
gives it.

Max and Min propagate NaN (a NaN operand gives NaN), as NumPy's ``maximum`` and ONNX's own
reference implementation do; the specification itself is silent on NaN.
"""

from __future__ import annotations

import math
from functools import reduce
from typing import Sequence

import numpy as np

from reference.variants import Variant, with_variants

INTEGER_DIVISION_FLOORS = Variant(
    "integer_division_floors",
    "integer Div rounds the quotient toward negative infinity (Python's and NumPy's //, tf.math.floordiv)"
    " instead of truncating toward zero",
    "https://github.com/onnx/onnx/issues/4016",
)
EXP_LOG_POW = Variant(
    "exp_log_pow",
    "Pow computed as exp(exponent * log(base)): NaN for every negative base, even with an integer"
    " exponent, and for 0 ** 0 (GLSL's pow is undefined there, and implemented so)",
    "https://registry.khronos.org/OpenGL-Refpages/gl4/html/pow.xhtml",
)
LEGACY_AXIS_IGNORED = Variant(
    "legacy_axis_ignored",
    "opset < 7 Add/Sub/Mul/Div broadcast B as NumPy does, aligned with A's trailing axes, whatever"
    " ``axis`` says (B of shape (3,) with axis=1 onto A of shape (2, 3, 4) fails or adds along the"
    " wrong axis)",
    "https://github.com/onnx/onnx/blob/main/onnx/reference/ops/_op.py",
)
NAN_IGNORED = Variant(
    "nan_ignored",
    "Max/Min ignore a NaN operand and return the other one, as C99's fmax/fmin do",
    "https://en.cppreference.com/w/c/numeric/math/fmax",
)


def _array(name: str, x: np.ndarray, kinds: str = "fiub") -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in kinds:
        raise ValueError(f"{name} has dtype {x.dtype}, which this operator does not take")
    return x


def exact(x: np.ndarray) -> np.ndarray:
    """An operand in the arithmetic the reference computes in: float64, or 64-bit integers."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x.astype(np.float64)
    if x.dtype.kind == "u":
        return x.astype(np.uint64)
    if x.dtype.kind == "i":
        return x.astype(np.int64)
    if x.dtype.kind == "b":
        return x
    raise ValueError(f"dtype {x.dtype} is not numeric")


def legacy_broadcast(A: np.ndarray, B: np.ndarray, broadcast: int, axis: int | None,
                     axis_ignored: bool = False) -> np.ndarray:
    """B as the binary operators of opsets 1 to 6 see it: broadcast onto A only when ``broadcast``
    is set, its axes aligned with A's from ``axis`` (default: A's trailing axes). ``axis_ignored``:
    the ``legacy_axis_ignored`` variant, B aligned with A's trailing axes whatever ``axis`` says."""
    if not broadcast:
        if A.shape != B.shape:
            raise ValueError(f"shapes {A.shape} and {B.shape} differ and broadcast is not set (opset < 7)")
        return B
    if axis is None or B.ndim == 0 or axis_ignored:
        return B
    axis = axis + A.ndim if axis < 0 else axis
    if axis + B.ndim > A.ndim:
        raise ValueError(f"B of shape {B.shape} does not fit A of shape {A.shape} from axis {axis}")
    return B.reshape(B.shape + (1,) * (A.ndim - axis - B.ndim))


def _binary(A, B, broadcast: int, axis: int | None, opset: int | None,
            variants: frozenset[str] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
    A, B = exact(_array("A", A)), exact(_array("B", B))
    if opset is not None and opset < 7:
        B = legacy_broadcast(A, B, broadcast, axis, "legacy_axis_ignored" in variants)
    np.broadcast_shapes(A.shape, B.shape)  # a ValueError names both shapes when they do not broadcast
    return A, B


@with_variants(LEGACY_AXIS_IGNORED)
def add(A, B, *, broadcast: int = 0, axis: int | None = None, consumed_inputs=None, opset: int | None = None,
        variants: frozenset[str] = frozenset()):
    """C = A + B, broadcast multidirectionally (before opset 7: B onto A, see ``legacy_broadcast``)."""
    A, B = _binary(A, B, broadcast, axis, opset, variants)
    return A + B


@with_variants(LEGACY_AXIS_IGNORED)
def sub(A, B, *, broadcast: int = 0, axis: int | None = None, consumed_inputs=None, opset: int | None = None,
        variants: frozenset[str] = frozenset()):
    """C = A - B, broadcast multidirectionally (before opset 7: B onto A, see ``legacy_broadcast``)."""
    A, B = _binary(A, B, broadcast, axis, opset, variants)
    return A - B


@with_variants(LEGACY_AXIS_IGNORED)
def mul(A, B, *, broadcast: int = 0, axis: int | None = None, consumed_inputs=None, opset: int | None = None,
        variants: frozenset[str] = frozenset()):
    """C = A * B, broadcast multidirectionally (before opset 7: B onto A, see ``legacy_broadcast``)."""
    A, B = _binary(A, B, broadcast, axis, opset, variants)
    return A * B


@with_variants(INTEGER_DIVISION_FLOORS, LEGACY_AXIS_IGNORED)
def div(A, B, *, broadcast: int = 0, axis: int | None = None, consumed_inputs=None, opset: int | None = None,
        variants: frozenset[str] = frozenset()):
    """C = A / B: IEEE division for floats; for integers the quotient truncated toward zero (at
    every opset: Div-6, 7, 13 and 14 all say so)."""
    A, B = _binary(A, B, broadcast, axis, opset, variants)
    if A.dtype.kind == "f":
        with np.errstate(divide="ignore", invalid="ignore"):
            return A / B
    if np.any(B == 0):
        raise ValueError("integer division by zero is undefined in ONNX")
    if "integer_division_floors" in variants:
        return A // B
    # |A| // |B| is the truncated magnitude; the sign is the product of the signs.
    magnitude = np.abs(A) // np.abs(B)
    negative = (A < 0) != (B < 0)
    return np.where(negative, -magnitude, magnitude)


@with_variants(EXP_LOG_POW)
def pow(X, Y, *, broadcast: int = 0, axis: int | None = None, opset: int | None = None,
        variants: frozenset[str] = frozenset()):
    """Z = X ** Y, the output in X's type.

    A float base takes a float or integer exponent; a negative base with an integer-valued
    exponent is well defined (pow(-2, 3) = -8), with any other exponent NaN. An integer base
    with an integer exponent is exact; with a float exponent the float64 power is truncated
    toward zero (ONNX's test_pow_types_int*_float32).
    """
    X, Y = _binary(X, Y, broadcast, axis, opset)
    if X.dtype.kind == "f" or Y.dtype.kind == "f":
        with np.errstate(all="ignore"):
            Z = np.power(X.astype(np.float64), Y.astype(np.float64))
            if "exp_log_pow" in variants:
                Z = np.where((X < 0) | ((X == 0) & (Y == 0)), np.nan, Z)
        if X.dtype.kind != "f":
            if not np.isfinite(Z).all():
                raise ValueError("an integer Pow with a float exponent has a non-finite result")
            return np.trunc(Z).astype(X.dtype)
        return Z
    if np.any(Y < 0):
        raise ValueError("an integer base to a negative integer power is not an integer")
    return np.power(X, Y)


def _variadic(name: str, inputs: Sequence[np.ndarray], kinds: str = "fiu") -> list[np.ndarray]:
    if not inputs:
        raise ValueError(f"{name} takes at least one input")
    arrays = [exact(_array(f"data_{i}", x, kinds)) for i, x in enumerate(inputs)]
    np.broadcast_shapes(*(a.shape for a in arrays))
    return arrays


def _maximum_or_minimum(inputs, largest: bool, variants: frozenset[str]):
    arrays = _variadic("Max" if largest else "Min", inputs)
    if "nan_ignored" in variants:
        ufunc = np.fmax if largest else np.fmin
    else:
        ufunc = np.maximum if largest else np.minimum
    return np.broadcast_to(reduce(ufunc, arrays), np.broadcast_shapes(*(a.shape for a in arrays))).copy()


@with_variants(NAN_IGNORED)
def max(*data_0: np.ndarray, variants: frozenset[str] = frozenset(), consumed_inputs=None):
    """max = the largest of the inputs, elementwise, broadcast multidirectionally; NaN propagates."""
    return _maximum_or_minimum(data_0, True, variants)


@with_variants(NAN_IGNORED)
def min(*data_0: np.ndarray, variants: frozenset[str] = frozenset(), consumed_inputs=None):
    """min = the smallest of the inputs, elementwise, broadcast multidirectionally; NaN propagates."""
    return _maximum_or_minimum(data_0, False, variants)


def sum(*data_0: np.ndarray, consumed_inputs=None):
    """sum = the sum of the inputs, elementwise, broadcast multidirectionally."""
    arrays = _variadic("Sum", data_0)
    return np.broadcast_to(reduce(np.add, arrays), np.broadcast_shapes(*(a.shape for a in arrays))).copy()


def mean(*data_0: np.ndarray, consumed_inputs=None):
    """mean = the sum of the inputs divided by their number, elementwise, broadcast multidirectionally."""
    return sum(*data_0) / len(data_0)


def _unary_float(name: str, X: np.ndarray) -> np.ndarray:
    return _array("X", X, "f").astype(np.float64)


def sqrt(X, *, consumed_inputs=None):
    """Y = X ** 0.5; NaN for negative X."""
    with np.errstate(invalid="ignore"):
        return np.sqrt(_unary_float("Sqrt", X))


def exp(input, *, consumed_inputs=None):
    """output = e ** input."""
    with np.errstate(over="ignore", under="ignore"):
        return np.exp(_unary_float("Exp", input))


def log(input, *, consumed_inputs=None):
    """output = ln(input): -inf at 0, NaN below."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(_unary_float("Log", input))


def reciprocal(X, *, consumed_inputs=None):
    """Y = 1 / X."""
    with np.errstate(divide="ignore"):
        return 1.0 / _unary_float("Reciprocal", X)


# NumPy has no erf; CPython's math.erf (the C library's erf where there is one, within 1 ulp of
# float64 on glibc) applied through a ufunc wrapper is accurate and fast enough for 4k elements.
_ERF = np.frompyfunc(math.erf, 1, 1)


def erf(input):
    """output = erf(input) = 2/sqrt(pi) * integral from 0 to input of exp(-t^2) dt."""
    return np.asarray(_ERF(_unary_float("Erf", input)), dtype=np.float64)


def abs(X, *, consumed_inputs=None):
    """Y = |X|."""
    return np.abs(exact(_array("X", X, "fiu")))


def neg(X, *, consumed_inputs=None):
    """Y = -X."""
    X = _array("X", X, "fi")
    return -exact(X)


def where(condition, X, Y):
    """output = X where condition is true, else Y; the three operands broadcast multidirectionally."""
    condition = _array("condition", condition, "b")
    X, Y = exact(_array("X", X)), exact(_array("Y", Y))
    return np.where(condition, X, Y)


OPERATORS = {
    "Add": add, "Sub": sub, "Mul": mul, "Div": div, "Pow": pow,
    "Max": max, "Min": min, "Sum": sum, "Mean": mean,
    "Sqrt": sqrt, "Exp": exp, "Log": log, "Abs": abs, "Neg": neg, "Reciprocal": reciprocal, "Erf": erf,
    "Where": where,
}
