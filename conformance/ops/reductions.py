"""The Reduce* operators: the cases to draw, the features that describe them, the error bounds.

Cases
-----
Each case draws an opset among those where the operator changed, so both forms of ``axes`` are
certified: the attribute (until opset 13 for ReduceSum, 18 for the others) and the optional int64
input (from then on), the latter absent, explicitly empty or listed, with ``noop_with_empty_axes``
absent, 0 or 1. Axes are drawn negative and unsorted as often as not, ``keepdims`` absent, 0 or 1,
ranks 0 to 4, and now and then an axis of size 0 (a reduction over no values; not for ReduceMean,
whose value there is undefined). Floats are float32 mostly, float16 and float64 too, with values
over six decades (up to 1e3 in float32 and float64, so a ReduceLogSumExp that does not subtract
the maximum overflows); integers where the operator's schema takes them (int32 and int64, 8-bit
integers for ReduceMax/ReduceMin, booleans too from opset 20; not for ReduceL2 and ReduceLogSumExp,
whose integer rounding the specification leaves open). float16 tensors are kept to 256 elements,
so that the bound of a float16 accumulation (``gamma_n`` with u = 2^-11) stays far below 1.

The error bounds
----------------
u is the unit roundoff of the data's dtype (2^-11, 2^-24, 2^-53), gamma_k = k*u / (1 - k*u), n the
number of values reduced into one output (1 when no axis is reduced, noop_with_empty_axes), and
tiny the dtype's smallest normal number. Inputs are exact: the reference reads the very arrays the
backend got. Integer results, and the selections ReduceMax and ReduceMin, must be exact.

- **ReduceSum**: n - 1 additions in any order, blocking or pairing (Higham, *Accuracy and Stability
  of Numerical Algorithms*, 2nd ed., section 4.2): ``|err| <= gamma_{n-1} * sum|x|``. A backend that
  accumulates more precisely and rounds once errs by at most ``u * |y| <= gamma_{n-1} * sum|x|``.
- **ReduceL1**: the same with ``|x|``, which is exact: ``gamma_{n-1} * sum|x|``.
- **ReduceSumSquare**: n products and n - 1 additions, a dot product of x with itself (section 3.1):
  ``gamma_n * sum x^2``.
- **ReduceMean**: the sum, then one division by n (error ``u`` relative), or one multiplication by a
  rounded 1/n (two roundings): ``|err| <= gamma_{n-1}*sum|x|/n + 2u*|y| + O(u^2) <= gamma_{n+1} * mean|x|``
  since ``|y| <= mean|x|``. Dividing each term by n first gives ``gamma_n * mean|x|``, within that.
- **ReduceProd**: n - 1 multiplications, each exact up to a factor ``(1 + delta)``, ``|delta| <= u``, in
  any order: ``|err| <= gamma_{n-1} * |y|``, provided no partial product overflows or underflows, which
  the strategy guarantees: every factor's magnitude lies in [2^-e, 2^e] with ``n*e`` well inside the
  dtype's exponent range (or is exactly 0), so every partial product, in any order, does too.
- **ReduceL2**: the sum of squares S has relative error ``theta``, ``|theta| <= gamma_n`` (all terms are
  non-negative); sqrt halves it and adds one rounding: ``|err| <= (gamma_n + u + gamma_n*u) * y``.
  An implementation that first divides by the largest magnitude (to avoid overflow) and multiplies
  it back adds two roundings per term and one at the end: ``gamma_{n+2} * y`` covers both.
- **ReduceLogSumExp**: m is the maximum, d_i = x_i - m <= 0, S = sum exp(d_i) in [1, n], L = log S,
  y = m + L. Assume exp and log correct to within 2 ulps (relative error ``c*u``, c = 4; glibc, Eigen
  and MLAS are within 1 to 2 ulps). Computing d_i rounds once (relative ``u``), which moves
  exp(d_i) by a factor ``exp(|d_i| u)``; with exp's own error and the summation,
  ``|S^ - S| / S <= rho = u*W + c*u + gamma_{n-1} + 2n*tiny``, where ``W = sum exp(d_i)*|d_i| / S`` (the
  softmax-weighted distance to the maximum, which the bound computes from the data). Then
  ``|log S^ - L| <= rho' = -log(1 - rho)``, log adds ``c*u*L`` and the final addition ``u*|y|``:
  ``|err| <= 1.01*rho' + (c + 1)*u*(|y| + L)`` (the factor 1.01 absorbs the products of two
  roundings). The same bound covers ``log(sum(exp(x)))`` computed directly wherever nothing
  overflows (its log's error is ``c*u*|y|``); where exp overflows, such a backend returns inf, which
  no bound admits (variant ``no_max_subtraction``).

Every bound except ReduceProd's adds ``2n * tiny`` for flush-to-zero arithmetic (ReduceL2 its square
root), as the convolution bound does. A convention bug (another axis, a dropped keepdims, an
ignored noop_with_empty_axes, the wrong composite step) changes results by O(1) relative or changes
their shape, far outside these bounds.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np

import reference
from conformance.case import Case
from conformance.ops.declaration import OpDeclaration
from conformance.strategies import Draws
from conformance.strategies import built_once as st
from conformance.strategies.tensors import (
    axes_of,
    data_array,
    dtypes,
    int64,
    opset_versions,
    shape_within,
)
from conformance.tolerance import Derived, Exact, gamma, unit_roundoff
from reference.reductions import axes_list, keeps_dims, reduced_axes, reduced_count

INPUT_BUDGET = 4096
FLOAT16_BUDGET = 256  # elements: keeps gamma_n of a float16 accumulation below 0.15
ELEMENTARY_ULPS = 2  # exp and log are assumed correct to within this many ulps (c = 2 * ulps)
# The opset from which axes is an input instead of an attribute.
AXES_INPUT_SINCE = {"ReduceSum": 13}
AXES_INPUT_DEFAULT = 18


def axes_input_since(op_type: str) -> int:
    return AXES_INPUT_SINCE.get(op_type, AXES_INPUT_DEFAULT)


# -- cases --------------------------------------------------------------------------------------


def _dtype(d: Draws, op_type: str, opset: int) -> str:
    if op_type in ("ReduceL2", "ReduceLogSumExp"):  # how their integer results round is unspecified
        return d("dtype", dtypes())
    return d("dtype", dtypes("int32", "int64", "int8", "uint8", "bool", op_type=op_type, opset=opset))


def _shape(d: Draws, op_type: str, dtype: str) -> list[int]:
    rank = d("rank", st.sampled_from((0, 1, 2, 2, 3, 3, 4)))
    budget = FLOAT16_BUDGET if dtype == "float16" else INPUT_BUDGET
    shape = shape_within(d, "shape", rank, budget)
    # An axis of size 0: a reduction over no values where that axis is reduced. ReduceMean's
    # value there is undefined.
    if rank and op_type != "ReduceMean" and d("zero_size", st.integers(0, 9)) == 0:
        shape[d("zero_axis", st.integers(0, rank - 1))] = 0
    return shape


def _axes_form(d: Draws, op_type: str, opset: int, rank: int) -> tuple[dict[str, Any], np.ndarray | None]:
    """(attributes, axes input): the attribute form, or the input absent, empty or listed."""
    attributes: dict[str, Any] = {}
    if opset < axes_input_since(op_type):
        if rank and d("axes_given", st.booleans()):
            attributes["axes"] = axes_of(d, "axes", rank)
        return attributes, None
    axes = None
    kind = d("axes_input", st.sampled_from(("absent", "empty", "listed", "listed")))
    if kind == "empty":
        axes = int64([])
    elif kind == "listed" and rank:
        axes = int64(axes_of(d, "axes", rank))
    noop = d("noop_with_empty_axes", st.sampled_from((None, 0, 1, 1)))
    if noop is not None:
        attributes["noop_with_empty_axes"] = noop
    return attributes, axes


def _product_friendly(d: Draws, data: np.ndarray, reduced: int) -> np.ndarray:
    """Factors whose partial products neither overflow nor underflow, in any order.

    Each magnitude is 2^e with |e| <= span, span * reduced well inside the exponent range (12 of
    float16's 15 binades either side, 100 of float32's and float64's 126), or exactly 0.
    """
    dtype = data.dtype
    rng = np.random.default_rng(d("factors.seed", st.integers(0, 2**32 - 1)))
    if dtype.kind in "iu":
        # Integers: +-1 and the odd 0, with +-2 only where a product of them stays within int32.
        choices = [-2, -1, 1, 2] if reduced <= 30 else [-1, 1]
        values = rng.choice(choices, data.shape)
        return np.where(rng.random(data.shape) < 0.05, 0, values).astype(dtype)
    room = 12.0 if dtype == np.float16 else 100.0
    span = min(d("factors.span", st.sampled_from((0.25, 1.0, 4.0))), room / max(1, reduced))
    magnitudes = np.exp2(rng.uniform(-span, span, data.shape))
    signs = np.where(rng.random(data.shape) < 0.5, -1.0, 1.0)
    zeros = rng.random(data.shape) < d("factors.zeros", st.sampled_from((0.0, 0.0, 0.05)))
    return np.where(zeros, 0.0, signs * magnitudes).astype(dtype)


def reduction_cases(op_type: str):
    """The strategy of cases for ``op_type`` (one of the Reduce* operators)."""
    # The latest opset twice: it is the one most models use, and the only one with booleans
    # for ReduceMax/ReduceMin.
    opsets = opset_versions(op_type, since=11) + opset_versions(op_type)[-1:]

    @st.composite
    def cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
        d = Draws(draw, pins)
        opset = d("opset", st.sampled_from(opsets))
        dtype = _dtype(d, op_type, opset)
        shape = _shape(d, op_type, dtype)
        attributes, axes = _axes_form(d, op_type, opset, len(shape))
        keepdims = d("keepdims", st.sampled_from((None, 0, 1)))
        if keepdims is not None:
            attributes["keepdims"] = keepdims
        data = data_array(d, "data", shape, dtype)
        if op_type == "ReduceProd":
            chosen = reduced_axes(shape, axes if axes is not None else attributes.get("axes"),
                                  attributes.get("noop_with_empty_axes", 0))
            data = _product_friendly(d, data, reduced_count(shape, chosen))
        inputs = {"data": data} if axes is None else {"data": data, "axes": axes}
        return Case(op_type, inputs, attributes, opset=opset, draws=d.record)

    return cases


# -- features -----------------------------------------------------------------------------------


def _axes_given(case: Case) -> list[int] | None:
    if "axes" in case.attributes:
        return axes_list(case.attributes["axes"])
    return axes_list(case.inputs.get("axes"))


def reduction_features(case: Case) -> dict[str, Any]:
    data = case.inputs["data"]
    given = _axes_given(case)
    noop = case.attributes.get("noop_with_empty_axes", 0)
    chosen = reduced_axes(data.shape, given, noop)
    n = reduced_count(data.shape, chosen)
    values = data.astype(np.float64)
    group_max = _group_max(values, chosen) if data.size else np.zeros(0)
    return {
        "opset": case.opset,
        "dtype": str(data.dtype),
        "rank": data.ndim,
        "axes_form": "attribute" if "axes" in case.attributes else "input" if "axes" in case.inputs else "absent",
        "empty_axes": given == [],
        "negative_axes": bool(given) and min(given) < 0,
        "unsorted_axes": bool(given) and [a % data.ndim for a in given] != sorted(a % data.ndim for a in given),
        "noop_with_empty_axes_given": "noop_with_empty_axes" in case.attributes,
        "noop_with_empty_axes": noop,
        "reduces_nothing": not chosen,
        "reduces_all": bool(chosen) and len(chosen) == data.ndim,
        "keepdims_given": "keepdims" in case.attributes,
        "keepdims": int(keeps_dims(case.attributes.get("keepdims"))),
        "reduced_count": n,
        "empty_reduction": n == 0 and data.size == 0 and bool(chosen),
        "zero_size_input": data.size == 0,
        "largest_input": float(values.max()) if data.size else 0.0,
        # The least of the maxima of the values reduced together: below log(smallest subnormal)
        # every exponential of that group underflows.
        "smallest_group_max": float(group_max.min()) if group_max.size else 0.0,
        "max_abs_input": float(np.abs(values).max()) if data.size else 0.0,
        "exp_overflows_float32": bool(data.size) and float(values.max()) > math.log(float(np.finfo(np.float32).max)),
    }


def _group_max(data: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return np.max(data, axis=axes) if axes else data


# -- error bounds (derived in the module docstring) -----------------------------------------------


def _geometry(case: Case, variants: Iterable[str]) -> tuple[np.ndarray, tuple[int, ...], bool, int]:
    """The data in float64, the reduced axes, whether they are kept, and n, under ``variants``."""
    chosen_variants = frozenset(variants)
    data = case.inputs["data"]
    chosen = reduced_axes(data.shape, _axes_given(case), case.attributes.get("noop_with_empty_axes", 0),
                          chosen_variants)
    keep = keeps_dims(case.attributes.get("keepdims"), chosen_variants)
    return data.astype(np.float64), chosen, keep, reduced_count(data.shape, chosen)


def _reduce_like(values: np.ndarray, axes: tuple[int, ...], keep: bool, how=np.sum) -> np.ndarray:
    """``values`` reduced over ``axes`` and shaped like the output (the magnitudes of the bound)."""
    result = how(values, axis=axes, keepdims=True)
    return result if keep else result.reshape([d for i, d in enumerate(result.shape) if i not in axes])


def _expected(case: Case, variants: Iterable[str]) -> np.ndarray:
    return reference.evaluate(case.op_type, list(case.inputs.values()), case.attributes, variants, case.opset)[0]


def _exact_for_integers(bound_function):
    """Integer (and boolean) results are exact; floats get the derived bound."""

    def bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray | float]:
        if case.dtype.kind != "f":
            return [0.0]
        return [bound_function(case, variants)]

    bounds.__doc__ = bound_function.__doc__
    return bounds


def _floor(n: int, dtype: np.dtype) -> float:
    return 2 * n * float(np.finfo(dtype).tiny)


def _sum_of_magnitudes_bound(case: Case, variants: Iterable[str]) -> np.ndarray:
    x, axes, keep, n = _geometry(case, variants)
    u = unit_roundoff(case.dtype)
    return gamma(max(n - 1, 0), u) * _reduce_like(np.abs(x), axes, keep) + _floor(n, case.dtype)


@_exact_for_integers
def sum_bound(case: Case, variants: Iterable[str] = ()) -> np.ndarray:
    """ReduceSum: gamma_{n-1} * sum|x| + 2n * tiny."""
    return _sum_of_magnitudes_bound(case, variants)


@_exact_for_integers
def l1_bound(case: Case, variants: Iterable[str] = ()) -> np.ndarray:
    """ReduceL1: gamma_{n-1} * sum|x| + 2n * tiny (|x| is exact)."""
    return _sum_of_magnitudes_bound(case, variants)


@_exact_for_integers
def sum_square_bound(case: Case, variants: Iterable[str] = ()) -> np.ndarray:
    """ReduceSumSquare: gamma_n * sum x^2 + 2n * tiny."""
    x, axes, keep, n = _geometry(case, variants)
    u = unit_roundoff(case.dtype)
    if not axes and "noop_skips_composite_steps" in frozenset(variants):
        return np.zeros(_expected(case, variants).shape)  # the input itself, exactly
    return gamma(n, u) * _reduce_like(x * x, axes, keep) + _floor(n, case.dtype)


@_exact_for_integers
def mean_bound(case: Case, variants: Iterable[str] = ()) -> np.ndarray:
    """ReduceMean: gamma_{n+1} * mean|x| + 2(n+1) * tiny."""
    x, axes, keep, n = _geometry(case, variants)
    u = unit_roundoff(case.dtype)
    return gamma(n + 1, u) * _reduce_like(np.abs(x), axes, keep, np.mean) + _floor(n + 1, case.dtype)


@_exact_for_integers
def prod_bound(case: Case, variants: Iterable[str] = ()) -> np.ndarray:
    """ReduceProd: gamma_{n-1} * |y| (no partial product over- or underflows: see the strategy)."""
    _, _, _, n = _geometry(case, variants)
    return gamma(max(n - 1, 0), unit_roundoff(case.dtype)) * np.abs(_expected(case, variants))


def l2_bound(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """ReduceL2: gamma_{n+2} * y + sqrt(2n * tiny)."""
    _, _, _, n = _geometry(case, variants)
    y = _expected(case, variants)
    return [gamma(n + 2, unit_roundoff(case.dtype)) * np.abs(y) + math.sqrt(_floor(n, case.dtype))]


def log_sum_exp_bound(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """ReduceLogSumExp: 1.01 * rho' + (c + 1) * u * (|y| + L), rho = u*W + c*u + gamma_{n-1} + 2n*tiny."""
    x, axes, keep, n = _geometry(case, variants)
    y = _expected(case, variants)
    u, c = unit_roundoff(case.dtype), 2 * ELEMENTARY_ULPS
    if n == 0:
        return [np.zeros(y.shape)]  # -inf, exactly
    largest = np.max(x, axis=axes, keepdims=True) if axes else x
    distance = largest - x  # d_i = m - x_i >= 0 (|d_i|)
    weights = np.exp(-distance)  # exp(d_i), the largest is 1
    total = _reduce_like(weights, axes, keep)  # S, in [1, n]
    weighted_distance = _reduce_like(weights * distance, axes, keep) / total  # W
    rho = u * weighted_distance + c * u + gamma(max(n - 1, 0), u) + _floor(n, case.dtype)
    rho_prime = -np.log1p(-np.minimum(rho, 0.5))  # rho stays far below 1/2 on drawn cases
    with np.errstate(invalid="ignore"):
        magnitude = np.where(np.isfinite(y), np.abs(y), 0.0) + np.log(total)
    return [1.01 * rho_prime + (c + 1) * u * magnitude]


def _declaration(op_type: str, summary: str, tolerance, extra_corners: tuple[str, ...] = ()) -> OpDeclaration:
    input_since = axes_input_since(op_type)
    corners = (
        "axes_form=attribute", "axes_form=input", "axes_form=absent", "empty_axes", "negative_axes",
        "unsorted_axes", "noop_with_empty_axes=1", "reduces_nothing", "reduces_all", "keepdims_given=False",
        "keepdims=0", "rank=0", "dtype=float32", "dtype=float16", "dtype=float64",
        f"opset={min(v for v in opset_versions(op_type, since=11) if v >= input_since)}",
    ) + extra_corners
    if op_type != "ReduceMean":
        corners += ("empty_reduction",)
    return OpDeclaration(
        op_type=op_type,
        summary=summary,
        cases=reduction_cases(op_type),
        tolerance=tolerance,
        features=reduction_features,
        corners=corners,
    )


INTEGERS = ("dtype=int32", "dtype=int64")
DECLARATIONS = (
    _declaration("ReduceSum", "sum over axes (attribute until opset 13, input from 13)",
                 Derived(sum_bound, "gamma_{n-1} * sum|x| + 2n*tiny; integers exact"), INTEGERS),
    _declaration("ReduceMean", "mean over axes (integer means truncated toward zero)",
                 Derived(mean_bound, "gamma_{n+1} * mean|x| + 2(n+1)*tiny; integers exact"), INTEGERS),
    _declaration("ReduceMax", "maximum over axes (8-bit integers from opset 12, booleans from 20)", Exact(),
                 INTEGERS + ("dtype=bool", "dtype=int8", "dtype=uint8")),
    _declaration("ReduceMin", "minimum over axes (8-bit integers from opset 12, booleans from 20)", Exact(),
                 INTEGERS + ("dtype=bool", "dtype=int8", "dtype=uint8")),
    _declaration("ReduceProd", "product over axes",
                 Derived(prod_bound, "gamma_{n-1} * |y| (no over/underflowing partial products); integers exact"),
                 INTEGERS),
    _declaration("ReduceL1", "sum of absolute values over axes",
                 Derived(l1_bound, "gamma_{n-1} * sum|x| + 2n*tiny; integers exact"), INTEGERS),
    _declaration("ReduceL2", "Euclidean norm over axes",
                 Derived(l2_bound, "gamma_{n+2} * y + sqrt(2n*tiny)")),
    _declaration("ReduceLogSumExp", "log(sum(exp(x))) over axes, for inputs up to 1e3",
                 Derived(log_sum_exp_bound, "1.01*rho' + 5u*(|y| + log S), rho = u*W + 4u + gamma_{n-1}"),
                 ("exp_overflows_float32",)),
    _declaration("ReduceSumSquare", "sum of squares over axes",
                 Derived(sum_square_bound, "gamma_n * sum x^2 + 2n*tiny; integers exact"), INTEGERS),
)
