"""The Reduce* operators as the ONNX specification defines them, in float64 (exact for integers).

- https://onnx.ai/onnx/operators/onnx__ReduceSum.html (and ReduceMean, ReduceMax, ReduceMin,
  ReduceProd, ReduceL1, ReduceL2, ReduceLogSumExp, ReduceSumSquare)

Every reduction takes ``data`` and the axes to reduce: an attribute until opset 18 (opset 13 for
ReduceSum), an optional int64 input from then on. The same parameter ``axes`` receives both
forms (a list from the attribute, an array from the input). Axes may be negative (counted from
the back) and in any order. When the axes are absent or empty, every axis is reduced, unless
``noop_with_empty_axes`` (input form only) is 1: then the reduction is over the empty set of axes,
an identity on which the composite operators still apply their other steps (ReduceL1 and ReduceL2
give ``|x|``, ReduceSumSquare ``x**2``, ReduceLogSumExp ``log(exp(x)) = x``). ``keepdims``
defaults to 1, unlike NumPy and TensorFlow.

A reduction over an empty set of values (an axis of size 0) gives the operation's identity: 0 for
sums and norms, 1 for ReduceProd, -inf for ReduceMax and ReduceLogSumExp, +inf for ReduceMin
(the lowest and highest value of an integer type, False and True for booleans). ReduceMean of no
values is undefined and raises.

Floating-point inputs give float64 results; integer (and boolean) inputs give exact results in
the input's dtype. The specification does not say how ReduceMean rounds an integer mean; this
reference truncates toward zero, as C's integer division (and onnxruntime, TensorFlow and
``onnx.reference``) do.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from reference.variants import Variant, with_variants

KEEPDIMS_DEFAULT_FALSE = Variant(
    "keepdims_default_false",
    "keepdims absent means 0 (NumPy's and TensorFlow's default) instead of ONNX's 1: reduced axes are dropped",
    "https://www.tensorflow.org/api_docs/python/tf/math/reduce_sum",
)
NOOP_IGNORED = Variant(
    "noop_ignored",
    "noop_with_empty_axes=1 is ignored: absent or empty axes reduce over every axis",
)
EMPTY_AXES_REDUCE_NOTHING = Variant(
    "empty_axes_reduce_nothing",
    "an explicitly empty axes list reduces nothing (NumPy's axis=(), TensorFlow's axis=[]) instead of every axis",
    "https://www.tensorflow.org/api_docs/python/tf/math/reduce_sum",
)
NOOP_SKIPS_COMPOSITE_STEPS = Variant(
    "noop_skips_composite_steps",
    "noop_with_empty_axes returns the input unchanged instead of still applying |x| or x**2",
)
NO_MAX_SUBTRACTION = Variant(
    "no_max_subtraction",
    "log(sum(exp(x))) computed without subtracting the maximum first: exp overflows to inf"
    " (float32: x > 88.7) or every term underflows to 0 (-inf)",
    "https://en.wikipedia.org/wiki/LogSumExp",
)
COMMON_VARIANTS = (KEEPDIMS_DEFAULT_FALSE, NOOP_IGNORED, EMPTY_AXES_REDUCE_NOTHING)
COMPOSITE_VARIANTS = COMMON_VARIANTS + (NOOP_SKIPS_COMPOSITE_STEPS,)

Axes = Sequence[int] | np.ndarray | None  # the attribute's list, the input's int64 array, or absent

# Kernels receive the data (float64, or int64/bool for exact integer arithmetic) and the axes,
# and return the reduction with the reduced axes kept (size 1).
Kernel = Callable[[np.ndarray, tuple[int, ...]], np.ndarray]


def int_list(name: str, values: Axes) -> list[int] | None:
    """A 1-D list of ints (None when absent), from an attribute list or an integer input."""
    if values is None:
        return None
    array = np.asarray(values)
    if array.size and array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {array.dtype}")
    if array.ndim > 1:
        raise ValueError(f"{name} must be a 1-D list, got shape {array.shape}")
    return [int(v) for v in array.reshape(-1)]


def axes_list(axes: Axes) -> list[int] | None:
    """The axes as a list of ints (None when absent), from the attribute or the int64 input."""
    return int_list("axes", axes)


def normalized_axes(axes: list[int], rank: int, name: str = "axes") -> list[int]:
    """Axes in ``[-rank, rank-1]`` made non-negative; duplicates (after normalization) raise."""
    for axis in axes:
        if not -rank <= axis < rank:
            raise ValueError(f"{name} value {axis} is out of range [{-rank}, {rank - 1}] for rank {rank}")
    positive = [a % rank for a in axes]
    if len(set(positive)) != len(positive):
        raise ValueError(f"{name} {axes} repeats an axis")
    return positive


def reduced_axes(
    shape: Sequence[int],
    axes: Axes,
    noop_with_empty_axes: int = 0,
    variants: frozenset[str] = frozenset(),
) -> tuple[int, ...]:
    """The axes a reduction of ``shape`` runs over, sorted and non-negative (``()``: none)."""
    rank = len(shape)
    listed = axes_list(axes)
    if listed:
        return tuple(sorted(normalized_axes(listed, rank)))
    if noop_with_empty_axes not in (0, 1):
        raise ValueError(f"noop_with_empty_axes must be 0 or 1, got {noop_with_empty_axes}")
    if noop_with_empty_axes and "noop_ignored" not in variants:
        return ()
    if listed == [] and "empty_axes_reduce_nothing" in variants:
        return ()
    return tuple(range(rank))


def reduced_count(shape: Sequence[int], axes: tuple[int, ...]) -> int:
    """How many input values reduce into each output value (1 when no axis is reduced)."""
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def keeps_dims(keepdims: int | None, variants: frozenset[str] = frozenset()) -> bool:
    """Whether the reduced axes stay (as size 1): keepdims, 1 when absent (0 under keepdims_default_false)."""
    if keepdims is None:
        return "keepdims_default_false" not in variants
    if keepdims not in (0, 1):
        raise ValueError(f"keepdims must be 0 or 1, got {keepdims}")
    return bool(keepdims)


def _working(data: np.ndarray) -> np.ndarray:
    """float64 for floating-point data; int64 (exact for the small values drawn) or bool otherwise."""
    data = np.asarray(data)
    if data.dtype.kind == "f":
        return data.astype(np.float64)
    if data.dtype.kind in "iu":
        return data.astype(np.int64)
    if data.dtype.kind == "b":
        return data
    raise ValueError(f"data must be numeric or boolean, got dtype {data.dtype}")


def _finish(result: np.ndarray, data: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Drop the reduced axes unless kept; integer results go back to the input's dtype."""
    if not keepdims:
        result = result.reshape([d for i, d in enumerate(result.shape) if i not in axes])
    if data.dtype.kind in "iub":
        return np.asarray(result).astype(data.dtype)
    return np.asarray(result, dtype=np.float64)


def _reduce(
    data: np.ndarray,
    axes: Axes,
    keepdims: int | None,
    noop_with_empty_axes: int,
    variants: frozenset[str],
    kernel: Kernel,
    composite_identity: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    data = np.asarray(data)
    working = _working(data)
    chosen = reduced_axes(data.shape, axes, noop_with_empty_axes, variants)
    if not chosen and "noop_skips_composite_steps" in variants:
        result = working
    elif not chosen and composite_identity is not None:
        result = composite_identity(working)
    else:
        result = kernel(working, chosen)
    return _finish(result, data, chosen, keeps_dims(keepdims, variants))


def _sum(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return np.sum(x, axis=axes, keepdims=True)


def _extreme(largest: bool) -> Kernel:
    """Max/min of floats (over no values -inf/+inf) or booleans (False/True, with False < True)."""

    def kernel(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        if x.dtype.kind == "b":
            function = np.any if largest else np.all  # np.any of nothing is False, np.all True
            return function(x, axis=axes, keepdims=True)
        function = np.max if largest else np.min
        return function(x, axis=axes, keepdims=True, initial=-np.inf if largest else np.inf)

    return kernel


def _integer_extreme(data: np.ndarray, largest: bool) -> Kernel:
    """Max/min of integers; over no values, the lowest (max) or highest (min) value of the dtype."""
    info = np.iinfo(data.dtype)

    def kernel(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        initial = int(info.min) if largest else int(info.max)
        function = np.max if largest else np.min
        return function(x, axis=axes, keepdims=True, initial=initial)

    return kernel


@with_variants(*COMMON_VARIANTS)
def reduce_sum(data: np.ndarray, axes: Axes = None, *, keepdims: int | None = None, noop_with_empty_axes: int = 0,
               variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Sum over the reduced axes (0 over no values)."""
    return _reduce(data, axes, keepdims, noop_with_empty_axes, variants, _sum)


def _mean(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    count = reduced_count(x.shape, axes)
    if count == 0:
        raise ValueError("ReduceMean over an empty set of values is undefined")
    total = np.sum(x, axis=axes, keepdims=True)
    if x.dtype.kind == "f":
        return total / count
    return np.sign(total) * (np.abs(total) // count)  # truncation toward zero, as C's division


@with_variants(*COMMON_VARIANTS)
def reduce_mean(data: np.ndarray, axes: Axes = None, *, keepdims: int | None = None, noop_with_empty_axes: int = 0,
                variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Mean over the reduced axes; an integer mean is truncated toward zero (see the module docstring)."""
    return _reduce(data, axes, keepdims, noop_with_empty_axes, variants, _mean)


@with_variants(*COMMON_VARIANTS)
def reduce_max(data: np.ndarray, axes: Axes = None, *, keepdims: int | None = None, noop_with_empty_axes: int = 0,
               variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Maximum over the reduced axes; over no values -inf (the dtype's lowest integer, False)."""
    data = np.asarray(data)
    kernel = _integer_extreme(data, True) if data.dtype.kind in "iu" else _extreme(True)
    return _reduce(data, axes, keepdims, noop_with_empty_axes, variants, kernel)


@with_variants(*COMMON_VARIANTS)
def reduce_min(data: np.ndarray, axes: Axes = None, *, keepdims: int | None = None, noop_with_empty_axes: int = 0,
               variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Minimum over the reduced axes; over no values +inf (the dtype's highest integer, True)."""
    data = np.asarray(data)
    kernel = _integer_extreme(data, False) if data.dtype.kind in "iu" else _extreme(False)
    return _reduce(data, axes, keepdims, noop_with_empty_axes, variants, kernel)


def _prod(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return np.prod(x, axis=axes, keepdims=True)


@with_variants(*COMMON_VARIANTS)
def reduce_prod(data: np.ndarray, axes: Axes = None, *, keepdims: int | None = None, noop_with_empty_axes: int = 0,
                variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Product over the reduced axes (1 over no values)."""
    return _reduce(data, axes, keepdims, noop_with_empty_axes, variants, _prod)


@with_variants(*COMPOSITE_VARIANTS)
def reduce_l1(data: np.ndarray, axes: Axes = None, *, keepdims: int | None = None, noop_with_empty_axes: int = 0,
              variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Sum of absolute values over the reduced axes; ``|x|`` over no axes (noop_with_empty_axes)."""
    return _reduce(data, axes, keepdims, noop_with_empty_axes, variants,
                   lambda x, a: np.sum(np.abs(x), axis=a, keepdims=True), np.abs)


def _l2(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    if x.dtype.kind != "f":
        raise ValueError("ReduceL2 of integers needs a rounding rule the specification does not give")
    return np.sqrt(np.sum(x * x, axis=axes, keepdims=True))


@with_variants(*COMPOSITE_VARIANTS)
def reduce_l2(data: np.ndarray, axes: Axes = None, *, keepdims: int | None = None, noop_with_empty_axes: int = 0,
              variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Euclidean norm over the reduced axes; ``|x|`` over no axes (noop_with_empty_axes)."""
    return _reduce(data, axes, keepdims, noop_with_empty_axes, variants, _l2, np.abs)


@with_variants(*COMPOSITE_VARIANTS)
def reduce_sum_square(data: np.ndarray, axes: Axes = None, *, keepdims: int | None = None, noop_with_empty_axes: int = 0,
                      variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Sum of squares over the reduced axes; ``x**2`` over no axes (noop_with_empty_axes)."""
    return _reduce(data, axes, keepdims, noop_with_empty_axes, variants,
                   lambda x, a: np.sum(x * x, axis=a, keepdims=True), lambda x: x * x)


def _logsumexp(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``m + log(sum(exp(x - m)))`` with m the (finite) maximum: no overflow, no total underflow."""
    if x.dtype.kind != "f":
        raise ValueError(f"ReduceLogSumExp takes floating-point data, got {x.dtype}")
    with np.errstate(divide="ignore", invalid="ignore"):
        largest = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        shift = np.where(np.isfinite(largest), largest, 0.0)
        return shift + np.log(np.sum(np.exp(x - shift), axis=axes, keepdims=True))


def _logsumexp_without_max(dtype: np.dtype) -> Kernel:
    """``log(sum(exp(x)))`` as a backend computing in ``dtype`` gets it: each exponential and the
    sum rounded to ``dtype``, so beyond its largest value they are inf, below its smallest
    subnormal 0 (and subnormal, with few significant bits, in between)."""

    def kernel(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            terms = np.exp(x).astype(dtype).astype(np.float64)
            total = np.sum(terms, axis=axes, keepdims=True).astype(dtype).astype(np.float64)
            return np.log(total)

    return kernel


@with_variants(*COMPOSITE_VARIANTS, NO_MAX_SUBTRACTION)
def reduce_log_sum_exp(data: np.ndarray, axes: Axes = None, *, keepdims: int | None = None, noop_with_empty_axes: int = 0,
                       variants: frozenset[str] = frozenset()) -> np.ndarray:
    """``log(sum(exp(x)))`` over the reduced axes (-inf over no values); ``x`` over no axes.

    Computed as ``m + log(sum(exp(x - m)))``: the value the specification defines, whatever the
    magnitude of x. Over no axes (noop_with_empty_axes) log(exp(x)) is x itself.
    """
    data = np.asarray(data)
    if data.dtype.kind != "f":
        raise ValueError(f"ReduceLogSumExp takes floating-point data, got {data.dtype}")
    if "no_max_subtraction" in variants:
        naive = _logsumexp_without_max(data.dtype)
        return _reduce(data, axes, keepdims, noop_with_empty_axes, variants, naive, lambda x: naive(x, ()))
    return _reduce(data, axes, keepdims, noop_with_empty_axes, variants, _logsumexp, lambda x: x)


OPERATORS = {
    "ReduceSum": reduce_sum,
    "ReduceMean": reduce_mean,
    "ReduceMax": reduce_max,
    "ReduceMin": reduce_min,
    "ReduceProd": reduce_prod,
    "ReduceL1": reduce_l1,
    "ReduceL2": reduce_l2,
    "ReduceLogSumExp": reduce_log_sum_exp,
    "ReduceSumSquare": reduce_sum_square,
}
