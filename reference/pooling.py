"""MaxPool, AveragePool, LpPool, GlobalAveragePool and GlobalMaxPool as ONNX defines them, in float64.

- MaxPool: https://onnx.ai/onnx/operators/onnx__MaxPool.html
- AveragePool: https://onnx.ai/onnx/operators/onnx__AveragePool.html
- LpPool: https://onnx.ai/onnx/operators/onnx__LpPool.html
- GlobalAveragePool, GlobalMaxPool: https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html

The geometry is the specification's:

- explicit ``pads`` (auto_pad NOTSET): ``out = floor((in + pads - eff_kernel) / stride) + 1``, or
  ``ceil(...)`` with ``ceil_mode``, in which case a last window that would start in the end padding
  (``(out - 1) * stride >= in + pad_begin``) is dropped ("Sliding windows that would start in the
  right padded region are ignored"; onnx/onnx#5711, as PyTorch does);
- auto_pad VALID and SAME_*: ``ceil(in / stride)`` (SAME) and ``floor((in - eff_kernel) / stride) + 1``
  (VALID) whatever ``ceil_mode`` says (the spec's ceil and floor formulas agree there), with the
  SAME padding of Conv: the odd pixel at the end for SAME_UPPER, at the beginning for SAME_LOWER,
  computed with the *dilated* kernel. Where a stride exceeds the dilated kernel that total is
  negative: the spec's ``pad_shape`` formula has no clamp while its ``pads`` are never negative, so
  the reference clamps at zero (reading ``pad_shape_clamped``) and declares the unclamped readings
  (``pad_shape_unclamped``, split as C truncates; ``pad_shape_unclamped_floor_split``) as alternatives.

A ceil-mode window may reach past the end padding; the taps beyond it are not elements of the
input: max pooling ignores them, AveragePool with ``count_include_pad`` divides by the taps that
fall in the padded input (PyTorch's and onnx.reference's divisor, pinned by ONNX's test
``averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True``), and without it by
the taps inside the input. LpPool sums ``|x|^p`` over the window, padding counting as zero.

MaxPool's second output, Indices, is the flat index of the maximum in the whole input tensor
``X``: ``(n * C + c) * prod(spatial) + offset``, the offset row-major (``storage_order=0``) or
column-major (``storage_order=1``) over the spatial axes. Ties go to the first tap in row-major
order of the window, as onnx.reference and onnxruntime scan it; the spec leaves ties open, so the
cases that ask for Indices draw values without ties.

Everything is vectorized: one strided view of the padded input (``reference.windows``), and one
whole-array operation per kernel tap (never a Python loop over output elements).
"""

from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np

from reference.conv import (
    DILATIONS_IGNORED,
    PADS_BEGIN_END_SWAPPED,
    SAME_UPPER_LOWER_SWAPPED,
    _swap_pads,
    _swap_same,
)
from reference.variants import Reading, Variant, with_variants
from reference.windows import check_auto_pad, effective_kernel, sliding_windows, window_pads

COUNT_INCLUDE_PAD_INVERTED = Variant(
    "count_include_pad_inverted",
    "count_include_pad read the other way round: padding counted in the divisor when it should not be, or not when it should",
    "https://github.com/onnx/onnx/issues/5276",
)
CEIL_MODE_IGNORED = Variant(
    "ceil_mode_ignored",
    "ceil_mode ignored: the output shape always rounds down, dropping the last partial window",
    "https://github.com/onnx/onnx/issues/3314",
)
CEIL_WINDOW_IN_PADDING_KEPT = Variant(
    "ceil_window_in_padding_kept",
    "with ceil_mode, a last window that starts in the end padding is kept (one more output than the spec)",
    "https://github.com/onnx/onnx/issues/5711",
)
PAD_VALUE_ZERO = Variant(
    "pad_value_zero",
    "max pooling pads with 0 instead of ignoring the padding (-inf), so negative windows touching the padding give 0",
    "https://github.com/microsoft/onnxruntime/issues/16203",
)
STORAGE_ORDER_IGNORED = Variant(
    "storage_order_ignored",
    "MaxPool's Indices are always row-major: storage_order=1 (column-major) is ignored",
)
INDICES_PER_PLANE = Variant(
    "indices_per_plane",
    "MaxPool's Indices count within each (n, c) plane, as torch.nn.MaxPool*d(return_indices=True) does,"
    " without ONNX's (n * C + c) * prod(spatial) offset",
    "https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html",
)
SAME_PADS_UNDILATED = Variant(
    "same_pads_undilated",
    "SAME_UPPER/SAME_LOWER padding computed from the undilated kernel, and the output shape from that"
    " padding (rounded up with ceil_mode): fewer outputs than ceil(input / stride) when dilations > 1"
    " (onnxruntime's CPU pooling)",
    "https://github.com/microsoft/onnxruntime/blob/main/onnxruntime/core/providers/cpu/nn/pool_attributes.h",
)
# Where a stride exceeds the dilated kernel, the spec's pad_shape is negative: the text both gives
# that formula, unclamped, and says auto_pad pads the input, whose pads are never negative.
_PAD_SHAPE_TEXT = ("pad_shape[i] = (output_spatial_shape[i] - 1) * strides_spatial_shape[i] + ((kernel_spatial_shape[i]"
                   " - 1) * dilations[i] + 1) - input_spatial_shape[i]: no clamp, yet auto_pad 'pad[s] the input' and"
                   " pads 'can take any value greater than or equal to 0'")
PAD_SHAPE_CLAMPED = Reading(
    "pad_shape_clamped",
    "a negative SAME total padding is clamped at zero: windows start at the first element, as Conv's SAME does"
    " (onnx.reference's Conv; TensorFlow's 1-D and 2-D pooling, and its 3-D pooling on oneDNN)",
    _PAD_SHAPE_TEXT, "https://onnx.ai/onnx/operators/onnx__AveragePool.html", default=True,
)
PAD_SHAPE_UNCLAMPED = Reading(
    "pad_shape_unclamped",
    "a negative SAME total padding is kept and split with C's truncation (begin = total / 2 for SAME_UPPER,"
    " (total + 1) / 2 for SAME_LOWER), so windows shift into the input (onnxruntime's AveragePool and LpPool,"
    " TensorFlow's Eigen MaxPool3D and AvgPool3D)",
    _PAD_SHAPE_TEXT, "https://github.com/microsoft/onnxruntime/blob/main/onnxruntime/core/providers/cpu/nn/pool_attributes.h",
)
PAD_SHAPE_UNCLAMPED_FLOOR_SPLIT = Reading(
    "pad_shape_unclamped_floor_split",
    "a negative SAME total padding is kept and split with floor division (begin = total // 2 for SAME_UPPER,"
    " total - total // 2 for SAME_LOWER: 'the extra padding' of an odd negative total is the end's zero), as"
    " onnx.reference's get_pad_with_auto_pad does",
    _PAD_SHAPE_TEXT + "; 'In case the padding is an odd number, the extra padding is added at the end for SAME_UPPER'",
    "https://github.com/onnx/onnx/blob/main/onnx/reference/ops/op_pool_common.py",
)
PAD_SHAPE_READINGS = (PAD_SHAPE_CLAMPED, PAD_SHAPE_UNCLAMPED, PAD_SHAPE_UNCLAMPED_FLOOR_SPLIT)
_UNCLAMPED = frozenset({PAD_SHAPE_UNCLAMPED.name, PAD_SHAPE_UNCLAMPED_FLOOR_SPLIT.name})
# Conventions whose SAME padding may leave fewer taps than the kernel, so that C's truncation counts outputs.
_OWN_SAME_PADDING = _UNCLAMPED | {"same_pads_undilated"}
CEIL_MODE_ON_VALID = Variant(
    "ceil_mode_on_valid",
    "ceil_mode rounds auto_pad VALID's output up as it does explicit padding's, adding a partial last"
    " window (the spec's VALID formula is the same with and without ceil_mode)",
    "https://github.com/microsoft/onnxruntime/issues/10083",
)
GEOMETRY_VARIANTS = (SAME_UPPER_LOWER_SWAPPED, PADS_BEGIN_END_SWAPPED, DILATIONS_IGNORED, CEIL_MODE_IGNORED,
                     CEIL_WINDOW_IN_PADDING_KEPT, SAME_PADS_UNDILATED, CEIL_MODE_ON_VALID, *PAD_SHAPE_READINGS)


def _float64(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "fiu":
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    if X.ndim < 3:
        raise ValueError(f"X must have rank >= 3 (N, C, spatial...), got shape {X.shape}")
    return X.astype(np.float64)


def _per_axis(name: str, values: Sequence[int] | None, rank: int, default: int = 1) -> list[int]:
    if values is None:
        return [default] * rank
    values = [int(v) for v in values]
    if len(values) != rank:
        raise ValueError(f"{name} has {len(values)} values; {rank} expected for {rank} spatial axes")
    if min(values) < 1:
        raise ValueError(f"{name} must be >= 1, got {values}")
    return values


def _trunc_div(a: int, b: int) -> int:
    """Integer division rounding towards zero, as C computes it."""
    return abs(a) // b * (1 if a >= 0 else -1)


def _same_pads(size: int, k: int, s: int, d: int, upper: bool, variants: frozenset[str]) -> tuple[int, int]:
    """SAME padding of one axis: the total that makes ``ceil(size / s)`` windows fit, clamped at zero,
    with the odd pixel at the end (SAME_UPPER) or the beginning (SAME_LOWER); or the variants' and
    the unclamped readings'."""
    extent = k if "same_pads_undilated" in variants else effective_kernel(k, d)
    total = (-(-size // s) - 1) * s + extent - size
    if not variants & _UNCLAMPED:
        total = max(0, total)
    # For a total >= 0 both splits are total // 2 and total - total // 2; a kept negative total splits
    # with floor division (onnx.reference) or, by default, as C does (onnxruntime, TensorFlow).
    if PAD_SHAPE_UNCLAMPED_FLOOR_SPLIT.name in variants:
        begin = total // 2 if upper else total - total // 2
    else:
        begin = _trunc_div(total, 2) if upper else _trunc_div(total + 1, 2)
    return begin, total - begin


def pool_geometry(
    input_shape: Sequence[int],
    kernel_shape: Sequence[int] | None,
    strides: Sequence[int] | None = None,
    dilations: Sequence[int] | None = None,
    auto_pad: str = "NOTSET",
    pads: Sequence[int] | None = None,
    ceil_mode: int = 0,
    variants: frozenset[str] = frozenset(),
) -> tuple[list[int], list[int], list[int], list[int], list[int], list[int]]:
    """The windows of a pooling operator: kernel, strides, dilations, begin pads, end pads, output shape.

    See the module docstring for the rules; ``variants`` applies the geometry variants. Raises
    ValueError for a call the specification does not allow (no kernel_shape, a kernel larger than
    the padded input).
    """
    rank = len(input_shape)
    if kernel_shape is None:
        raise ValueError("kernel_shape is required")
    kernel = _per_axis("kernel_shape", kernel_shape, rank)
    strides = _per_axis("strides", strides, rank)
    dilations = _per_axis("dilations", dilations, rank)
    if "dilations_ignored" in variants:
        dilations = [1] * rank
    auto_pad = _swap_same(check_auto_pad(auto_pad), variants)
    if auto_pad.startswith("SAME"):
        halves = [_same_pads(n, k, s, d, auto_pad == "SAME_UPPER", variants)
                  for n, k, s, d in zip(input_shape, kernel, strides, dilations)]
        begins, ends = [b for b, _ in halves], [e for _, e in halves]
    else:
        begins, ends = window_pads(input_shape, kernel, strides, dilations, auto_pad, _swap_pads(pads, variants))
    # Under auto_pad the spec's ceil and floor formulas agree. Variants: onnxruntime rounds VALID
    # up too, and its own SAME padding (undilated, or negative) as well.
    ceil = bool(ceil_mode) and "ceil_mode_ignored" not in variants and (
        auto_pad == "NOTSET"
        or (auto_pad == "VALID" and "ceil_mode_on_valid" in variants)
        or (auto_pad.startswith("SAME") and bool(variants & _OWN_SAME_PADDING)))
    # A variant's SAME padding may leave fewer taps than the kernel: C's truncation then counts outputs.
    truncating = auto_pad.startswith("SAME") and bool(variants & _OWN_SAME_PADDING)
    output = []
    for size, k, s, d, b, e in zip(input_shape, kernel, strides, dilations, begins, ends):
        span = size + b + e - effective_kernel(k, d)
        if truncating:  # C's integer division truncates a negative span towards zero (onnxruntime 1.32)
            count = math.ceil(span / s) + 1 if ceil else _trunc_div(span, s) + 1
            if count < 0:
                raise ValueError(f"a negative output extent ({count})")
        elif span < 0:
            raise ValueError(f"the padded input ({size + b + e}) is smaller than the dilated kernel"
                             f" ({effective_kernel(k, d)})")
        else:
            count = (-(-span // s) if ceil else span // s) + 1
        # "Sliding windows that would start in the right padded region are ignored."
        if ceil and (count - 1) * s >= size + b and "ceil_window_in_padding_kept" not in variants:
            count -= 1
        output.append(count)
    return kernel, strides, dilations, begins, ends, output


def _padded(X: np.ndarray, begins, ends, kernel, strides, dilations, output, fill: float) -> np.ndarray:
    """X padded with ``fill``, also past the end padding as far as a ceil-mode window reaches (the
    overhang, which is not part of the padded input: averages leave it out of their divisor)."""
    overhang = [max(0, (o - 1) * s + effective_kernel(k, d) - (size + b + e))
                for o, s, k, d, size, b, e in zip(output, strides, kernel, dilations, X.shape[2:], begins, ends)]
    if min(begins + ends, default=0) < 0:  # a negative pad (a variant's or a reading's SAME padding) crops instead
        X = X[(Ellipsis, *(slice(max(0, -b), n - max(0, -e)) for n, b, e in zip(X.shape[2:], begins, ends)))]
        begins, ends = [max(0, b) for b in begins], [max(0, e) for e in ends]
    if any(begins) or any(ends):
        X = np.pad(X, [(0, 0), (0, 0)] + list(zip(begins, ends)), constant_values=fill)
    if any(overhang):
        X = np.pad(X, [(0, 0), (0, 0)] + [(0, h) for h in overhang],
                   constant_values=fill)
    return X


def _taps(kernel: Sequence[int]):
    return itertools.product(*(range(k) for k in kernel))


def _tap_views(padded: np.ndarray, kernel, strides, dilations, output):
    """For each kernel tap (row-major order): the tap index and the strided view (N, C, *output) it reads."""
    windows = sliding_windows(padded, kernel, strides, dilations)
    rank = len(kernel)
    # sliding_windows may see more windows than ``output`` when the overhang padding made room.
    windows = windows[(Ellipsis, *(slice(0, o) for o in output), *(slice(None),) * rank)]
    for tap in _taps(kernel):
        yield tap, windows[(Ellipsis, *tap)]


def _axis_counts(size: int, output: int, k: int, s: int, d: int, begin: int, low: int, high: int) -> np.ndarray:
    """Per output position along one axis: how many taps fall in ``[low, high)`` of the input's coordinates."""
    positions = np.arange(output)[:, None] * s + np.arange(k)[None, :] * d - begin
    return ((positions >= low) & (positions < high)).sum(axis=1)


def tap_counts(input_shape, kernel, strides, dilations, begins, ends, output, include_pad: bool) -> np.ndarray:
    """The divisor of an average: per output element, the taps inside the input (or the padded input)."""
    counts = np.ones(output)
    for axis, (size, o, k, s, d, b, e) in enumerate(zip(input_shape, output, kernel, strides, dilations, begins, ends)):
        low, high = (-b, size + e) if include_pad else (0, size)
        shape = [1] * len(output)
        shape[axis] = o
        counts = counts * _axis_counts(size, o, k, s, d, b, low, high).reshape(shape)
    return counts


@with_variants(*GEOMETRY_VARIANTS, PAD_VALUE_ZERO, STORAGE_ORDER_IGNORED, INDICES_PER_PLANE)
def max_pool(
    X: np.ndarray,
    *,
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    dilations: Sequence[int] | None = None,
    kernel_shape: Sequence[int] | None = None,
    pads: Sequence[int] | None = None,
    storage_order: int = 0,
    strides: Sequence[int] | None = None,
    variants: frozenset[str] = frozenset(),
) -> tuple[np.ndarray, np.ndarray]:
    """(Y, Indices): the largest input element under each window, ignoring padding, and its flat index in X.

    A maximum selects an element without arithmetic, so it is computed in a dtype that holds X
    exactly (float32 for float16, float32 and 8-bit integers; float64 otherwise): the result is
    the same as in float64, twice as fast. Y is returned in float64.
    """
    X = np.asarray(X)
    integer_lowest = float(np.iinfo(X.dtype).min) if X.dtype.kind in "iu" else None
    _float64(X[..., :0])  # validate rank and dtype
    exact = X.dtype in (np.float16, np.float32, np.int8, np.uint8, np.int16, np.uint16, np.bool_)
    X = X.astype(np.float32 if exact else np.float64)
    if storage_order not in (0, 1):
        raise ValueError(f"storage_order must be 0 (row-major) or 1 (column-major), not {storage_order}")
    input_shape = X.shape[2:]
    kernel, strides, dilations, begins, ends, output = pool_geometry(
        input_shape, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode, variants)
    padded = _padded(X, begins, ends, kernel, strides, dilations, output, -np.inf)
    views = [view for _, view in _tap_views(padded, kernel, strides, dilations, output)]
    Y = np.full((*X.shape[:2], *output), -np.inf, dtype=X.dtype)
    for view in views:
        np.maximum(Y, view, out=Y)
    # The first tap (in row-major window order) that holds the maximum: scan the taps last first,
    # each match overwriting the later ones. Ties go to the first tap, as onnx.reference and
    # onnxruntime scan the window.
    best_tap = np.full(Y.shape, len(views), dtype=np.int64)
    for flat in range(len(views) - 1, -1, -1):
        best_tap -= (best_tap - flat) * np.equal(views[flat], Y)
    empty = np.isneginf(Y)  # a window of padding only (variants only) has no element and no index
    Y = Y.astype(np.float64)
    if "pad_value_zero" in variants:  # a window that reads the (explicit or SAME) padding reads zeros there
        touches = (tap_counts(input_shape, kernel, strides, dilations, begins, ends, output, True)
                   > tap_counts(input_shape, kernel, strides, dilations, begins, ends, output, False))
        Y = np.where(touches, np.maximum(Y, 0.0), Y)
    if integer_lowest is not None:
        Y[empty] = integer_lowest  # ... and holds the integer dtype's lowest value
    indices = _flat_indices(X.shape, np.minimum(best_tap, len(views) - 1), kernel, strides, dilations, begins,
                            output, storage_order, variants)
    return Y, np.where(empty, -1, indices)


def _flat_indices(x_shape, best_tap, kernel, strides, dilations, begins, output, storage_order, variants):
    """ONNX's Indices from the winning tap of each window: the window's first position plus the tap's
    offset, each a sum over the spatial axes of position times the axis' element stride."""
    rank = len(kernel)
    spatial = x_shape[2:]
    column_major = storage_order == 1 and "storage_order_ignored" not in variants
    multipliers, step = [0] * rank, 1
    for axis in (range(rank) if column_major else range(rank - 1, -1, -1)):
        multipliers[axis], step = step, step * spatial[axis]
    tap_offsets = np.array([sum(k * d * m for k, d, m in zip(tap, dilations, multipliers)) for tap in _taps(kernel)],
                           dtype=np.int64)
    start = np.zeros([1, 1, *output], dtype=np.int64)
    for axis in range(rank):
        shape = [1] * (2 + rank)
        shape[2 + axis] = output[axis]
        start = start + ((np.arange(output[axis]) * strides[axis] - begins[axis]) * multipliers[axis]).reshape(shape)
    offset = start + tap_offsets[best_tap]
    if "indices_per_plane" not in variants:
        N, C = x_shape[:2]
        plane = (np.arange(N)[:, None] * C + np.arange(C)[None, :]).reshape(N, C, *([1] * rank))
        offset += plane * int(np.prod(spatial))
    return offset


@with_variants(*GEOMETRY_VARIANTS, COUNT_INCLUDE_PAD_INVERTED)
def average_pool(
    X: np.ndarray,
    *,
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    count_include_pad: int = 0,
    dilations: Sequence[int] | None = None,
    kernel_shape: Sequence[int] | None = None,
    pads: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    variants: frozenset[str] = frozenset(),
) -> np.ndarray:
    """The mean of each window: the sum of its input elements over the taps inside the input, or,
    with ``count_include_pad``, over the taps inside the padded input (padding counts as zero)."""
    X = _float64(X)
    input_shape = X.shape[2:]
    kernel, strides, dilations, begins, ends, output = pool_geometry(
        input_shape, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode, variants)
    padded = _padded(X, begins, ends, kernel, strides, dilations, output, 0.0)
    total = np.zeros((*X.shape[:2], *output))
    for _, view in _tap_views(padded, kernel, strides, dilations, output):
        total += view
    include_pad = bool(count_include_pad) != ("count_include_pad_inverted" in variants)
    with np.errstate(invalid="ignore", divide="ignore"):  # a window of padding only: 0/0 (variants only)
        return total / tap_counts(input_shape, kernel, strides, dilations, begins, ends, output, include_pad)


@with_variants(*GEOMETRY_VARIANTS)
def lp_pool(
    X: np.ndarray,
    *,
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    dilations: Sequence[int] | None = None,
    kernel_shape: Sequence[int] | None = None,
    p: float = 2,
    pads: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    variants: frozenset[str] = frozenset(),
) -> np.ndarray:
    """The Lp norm of each window, ``(sum |x|^p)^(1/p)``; padding counts as zero."""
    X = _float64(X)
    if p <= 0:
        raise ValueError(f"p must be positive, got {p}")
    input_shape = X.shape[2:]
    kernel, strides, dilations, begins, ends, output = pool_geometry(
        input_shape, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode, variants)
    padded = _padded(np.abs(X) ** p, begins, ends, kernel, strides, dilations, output, 0.0)
    total = np.zeros((*X.shape[:2], *output))
    for _, view in _tap_views(padded, kernel, strides, dilations, output):
        total += view
    return total ** (1.0 / p)


def global_average_pool(X: np.ndarray) -> np.ndarray:
    """The mean over every spatial axis, kept as axes of size 1."""
    X = _float64(X)
    return X.mean(axis=tuple(range(2, X.ndim)), keepdims=True)


def global_max_pool(X: np.ndarray) -> np.ndarray:
    """The maximum over every spatial axis, kept as axes of size 1."""
    X = _float64(X)
    return X.max(axis=tuple(range(2, X.ndim)), keepdims=True)


def window_output_shape_of(X_shape: Sequence[int], attributes: dict) -> list[int]:
    """The spatial output shape of a pooling call (for strategies and features)."""
    return pool_geometry(X_shape[2:], attributes.get("kernel_shape"), attributes.get("strides"),
                         attributes.get("dilations"), attributes.get("auto_pad", "NOTSET"),
                         attributes.get("pads"), attributes.get("ceil_mode", 0))[5]


OPERATORS = {
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "LpPool": lp_pool,
    "GlobalAveragePool": global_average_pool,
    "GlobalMaxPool": global_max_pool,
}
