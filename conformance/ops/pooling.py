"""The pooling family: MaxPool, AveragePool, LpPool, GlobalAveragePool and GlobalMaxPool.

The strategies draw valid geometry only and lean on the corners where conventions differ:

- ``ceil_mode`` where it adds a partial last window (with ceil_mode, a strided axis is at least one
  element longer than one window), and where ceil's last window would start in the end padding and
  must be dropped (onnx/onnx#5711), ``ceil_mode`` with auto_pad (where the spec's ceil and floor
  formulas agree; under VALID half the time);
- ``count_include_pad`` with padding, including windows that overhang the end padding in ceil mode;
- padding next to windows of negative values (max pooling must ignore the padding, not read 0);
- odd total SAME padding (SAME_UPPER and SAME_LOWER part ways), SAME with strides and dilations;
- SAME whose total padding is -2 or less (a stride exceeding the kernel by 2 or more), where the
  readings of ``pad_shape`` read other elements: a quarter of the cases aim there in 3-D, where
  TensorFlow's Eigen kernels keep the negative padding (``conformance.strategies.windows``);
- asymmetric pads, dilations, strides larger than the kernel, N != C;
- MaxPool's Indices output with ``storage_order`` 0 and 1, on values without ties (the spec does
  not say which of two equal maxima is meant), and int8/uint8 inputs;
- LpPool with p = 1, 2, 3;
- AveragePool at its older versions besides the current one (22, drawn about half the time), each with
  exactly the attributes its schema defines (``pool_attributes``): 1 (no ``count_include_pad``: the
  padding is always left out of the divisor; that version is the one a model stamped opset 1 to 6
  uses, as ONNX's ``pytorch-converted`` test models are), 7 (``count_include_pad``), 10
  (``ceil_mode``), 11 (the same attributes as 10; its text defines SAME by ``ceil(input / stride)``
  and adds a floor formula for auto_pad without ``ceil_mode``, ``floor((in - eff_kernel + 1) /
  stride)`` for VALID and ``floor(in / stride)`` for SAME, which contradicts both its own
  ``auto_pad`` text and ONNX's shape inference for that version; the reference follows the latter,
  as opset 19's text does) and 19 (``dilations``). Before opset 7, a window that reads padding
  (``partial_window_without_count_include_pad``) is where the versions differ.

Every window holds at least one input element (the spec gives no value for a window of padding
only), and X has about 4k elements at most.

Tolerances, with u the unit roundoff of X's dtype and k the taps of one window:

- MaxPool, GlobalMaxPool: exact. A maximum selects an input element; no rounding happens, so any
  difference (and any difference in Indices) is an error.
- AveragePool, GlobalAveragePool: a sum of at most k terms (k - 1 roundings in any order,
  Higham's ``|error| <= gamma_{k-1} sum|x|``), then one division by the count, or a multiplication
  by its rounded reciprocal (two more roundings): ``|error| <= gamma_{k+1} * mean|x|``, where
  ``mean|x|`` is the operator on ``|X|`` (``conformance.tolerance.Accumulation`` with k + 1 terms).
- LpPool: ``y = S^(1/p)`` with ``S = sum |x|^p``. Each power costs at most p - 1 roundings (or one
  ``pow`` call, within 1 ulp); the k nonnegative terms sum with k - 1 roundings in any order; an
  implementation may go through the mean (divide by k, multiply by k again: onnx.reference and
  the TensorFlow lowering do): two more. ``S`` then carries a relative error of at most
  ``gamma_{k+p+1}``, which the p-th root divides by p; the root adds one rounding (``sqrt``) or, as
  ``pow(S, 1/p)``, its own (within 1 ulp) and that of the exponent: ``1/p`` rounded to the dtype
  (relative error u unless 1/p is a power of two) moves ``S^(1/p)`` by a factor
  ``S^(u/p) ~ 1 + u |ln S| / p``. In all: ``|error| <= (gamma_{k+p+3} + u |ln S| / p) * y``. Powers of
  tiny inputs underflow: each of the k terms may lose up to ``tiny`` (the smallest normal number),
  which moves ``S`` by at most ``k * tiny`` and ``y`` by at most ``(k * tiny)^(1/p)`` (the p-th root
  is subadditive), added as a floor.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any, Iterable, Mapping

import numpy as np
import onnx
from hypothesis import assume

from conformance.case import Case, current_opset
from conformance.ops.declaration import OpDeclaration
from conformance.strategies import (
    Draws,
    float_array,
    float_dtypes,
    integer_lists,
    other_than,
)
from conformance.strategies import built_once as st
from conformance.strategies.windows import (
    REGIONS,
    SAME_WINDOW_SHIFT,
    SHIFT_AUTO_PADS,
    SHIFT_RANK,
    STRIDES,
    kernel_shapes,
    shifted_axes,
    shifting_strides,
    spatial_sizes,
)
from conformance.tolerance import Accumulation, Derived, Exact, gamma, unit_roundoff
from reference.pooling import lp_pool, pool_geometry, tap_counts
from reference.windows import effective_kernel, sliding_windows

INPUT_BUDGET = 4096  # elements of X
AUTO_PADS = ("NOTSET", "NOTSET", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")
INTEGER_DTYPES = ("int8", "uint8")
POOLS = ("MaxPool", "AveragePool", "LpPool")
# The operator versions drawn besides the current one (about as often as the current one); the
# attributes each defines come from its schema (pool_attributes).
OLDER_OPSETS = {"AveragePool": (19, 11, 10, 7, 1)}


@cache
def pool_opsets(op_type: str) -> tuple[int, ...]:
    """The opsets drawn for ``op_type``: its current version first (Hypothesis shrinks towards it),
    as often as all the older ones together."""
    older = OLDER_OPSETS.get(op_type, ())
    return (current_opset(op_type),) * max(1, len(older)) + older


@cache
def pool_attributes(op_type: str, opset: int) -> frozenset[str]:
    """The attributes ``op_type``'s version at ``opset`` defines (from onnx's schema of that version)."""
    return frozenset(onnx.defs.get_schema(op_type, opset).attributes)


def integer_array(draws: Draws, label: str, shape, dtype: str) -> np.ndarray:
    """An int8/uint8 array over the dtype's whole range or a narrow one (many ties), seeded (labelled)."""
    seed = draws(f"{label}.seed", st.integers(0, 2**32 - 1))
    info = np.iinfo(dtype)
    narrow = draws(f"{label}.values", st.sampled_from(("full_range", "narrow_range")))
    low, high = (int(info.min), int(info.max)) if narrow == "full_range" else (max(int(info.min), -3), 3)
    return np.random.default_rng(seed).integers(low, high + 1, shape).astype(dtype)


def distinct_array(draws: Draws, label: str, shape, dtype: str) -> np.ndarray:
    """Floats without ties: a shuffled range of integers times a power of two, exact in float16 too
    (|values| <= 2048 units), so that the position of a maximum is unambiguous."""
    seed = draws(f"{label}.seed", st.integers(0, 2**32 - 1))
    unit = draws(f"{label}.scale", st.sampled_from((2.0**-8, 2.0**-2, 1.0)))
    size = int(np.prod(shape))
    values = np.random.default_rng(seed).permutation(size) - size // 2
    return (values * unit).reshape(shape).astype(dtype)


def empty_windows(input_shape, kernel, strides, dilations, begins, output) -> bool:
    """Whether some window holds no input element (padding only, or taps that straddle the input)."""
    for size, k, s, d, b, o in zip(input_shape, kernel, strides, dilations, begins, output):
        positions = np.arange(o)[:, None] * s + np.arange(k)[None, :] * d - b
        if not ((positions >= 0) & (positions < size)).any(axis=1).all():
            return True
    return False


def _attributes(d: Draws, values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes, with default values spelt out or left implicit (both forms are drawn)."""
    explicit = d("explicit_defaults", st.booleans())
    return {k: v for k, v in values.items() if v is not None and (explicit or v != defaults.get(k))}


def _dtype(d: Draws, op_type: str) -> str:
    if op_type == "MaxPool":
        return d("dtype", st.sampled_from(("float32",) * 6 + ("float16", "float64") + INTEGER_DTYPES))
    return d("dtype", float_dtypes())


@st.composite
def pool_cases(draw, op_type: str, pins: Mapping[str, Any] | None = None) -> Case:
    """A MaxPool, AveragePool or LpPool call (see the module docstring for what it favours)."""
    d = Draws(draw, pins)
    opset = d("opset", st.sampled_from(pool_opsets(op_type))) if op_type in OLDER_OPSETS else current_opset(op_type)
    defined = pool_attributes(op_type, opset)
    # A quarter of the cases aim at 3-D SAME with a stride exceeding the kernel by 2 or more
    # (conformance.strategies.windows): the rest are drawn anywhere.
    shift = d("region", st.sampled_from(REGIONS)) == SAME_WINDOW_SHIFT
    dtype = _dtype(d, op_type)
    rank = d("spatial_rank", st.just(SHIFT_RANK) if shift else st.sampled_from((1, 2, 2, 2, 3)))
    C = d("C", st.integers(1, 4))
    N = d("N", other_than(C, 1, 3))
    largest, widest = (3, 2) if rank == 3 else (4, 3)
    shifted = d("shifted_axes", shifted_axes(rank)) if shift else [False] * rank
    if shift:
        kernel = d("kernel_shape", kernel_shapes(tuple(shifted), largest))
        dilations = d("dilations", st.just([1] * rank))
        extents = [effective_kernel(k, dl) for k, dl in zip(kernel, dilations)]
        strides = d("strides", shifting_strides(tuple(extents), tuple(shifted)))
    else:
        kernel = d("kernel_shape", st.lists(st.integers(1, largest), min_size=rank, max_size=rank))
        dilations = d("dilations", st.lists(st.sampled_from((1, 1, 2, widest)), min_size=rank, max_size=rank)
                      if "dilations" in defined else st.just([1] * rank))
        strides = d("strides", st.lists(st.sampled_from(STRIDES), min_size=rank, max_size=rank))
        extents = [effective_kernel(k, dl) for k, dl in zip(kernel, dilations)]
    auto_pad = d("auto_pad", st.sampled_from(SHIFT_AUTO_PADS if shift else AUTO_PADS))
    # ceil_mode under VALID half the time: where rounding up would add a window, onnxruntime does.
    ceil_mode = d("ceil_mode", st.sampled_from({"NOTSET": (0, 1, 1), "VALID": (0, 1)}.get(auto_pad, (0, 0, 1))
                                               if "ceil_mode" in defined else (0,)))
    pads = None
    if auto_pad == "NOTSET":
        pads = d("pads", integer_lists(tuple((0, e - 1) for e in extents * 2)))
    begins, ends = (pads[:rank], pads[rank:]) if pads else ([0] * rank, [0] * rank)
    lows = [1 if auto_pad.startswith("SAME") else max(1, e - b - en) for e, b, en in zip(extents, begins, ends)]
    if ceil_mode and auto_pad in ("NOTSET", "VALID"):
        # A strided axis one element longer than a single window at least, so that ceil_mode can add a
        # partial last window (or VALID's, against the spec, round one up).
        lows = [low + 1 if s > 1 else low for low, s in zip(lows, strides)]
    cap = max(1, int((INPUT_BUDGET / (N * C)) ** (1 / rank)))
    sizes = d("spatial", spatial_sizes(tuple(lows), cap, tuple(kernel), tuple(dilations), tuple(strides), tuple(shifted)))
    _, _, _, begins, _, output = pool_geometry(sizes, kernel, strides, dilations, auto_pad, pads, ceil_mode)
    assume(not empty_windows(sizes, kernel, strides, dilations, begins, output))
    values = {"auto_pad": auto_pad, "ceil_mode": ceil_mode, "dilations": dilations, "kernel_shape": kernel,
              "pads": pads, "strides": strides}
    defaults = {"auto_pad": "NOTSET", "ceil_mode": 0, "dilations": [1] * rank, "pads": [0] * 2 * rank,
                "strides": [1] * rank}
    outputs = ("Y",)
    shape = [N, C, *sizes]
    if op_type == "MaxPool":
        with_indices = dtype not in INTEGER_DTYPES and d("with_indices", st.booleans())
        if with_indices:
            outputs = ("Y", "Indices")
            values["storage_order"] = d("storage_order", st.sampled_from((0, 1)))
            defaults["storage_order"] = 0
            X = distinct_array(d, "X", shape, dtype)
        elif dtype in INTEGER_DTYPES:
            X = integer_array(d, "X", shape, dtype)
        else:
            X = float_array(d, "X", shape, dtype)
    elif op_type == "AveragePool":
        # Aimed at SAME's window shift, the padding of the other axes is left out of the divisor,
        # as TensorFlow's own SAME average does (count_include_pad=1 there comes from the other draws).
        if "count_include_pad" in defined:
            values["count_include_pad"] = d("count_include_pad", st.just(0) if shift else st.sampled_from((0, 1)))
            defaults["count_include_pad"] = 0
        X = float_array(d, "X", shape, dtype)
    else:
        # float16 keeps to p <= 2: at most 27 squares of |x| <= 4 * 4 stay far below float16's 65504.
        p = d("p", st.sampled_from((1, 2) if dtype == "float16" else (1, 2, 2, 3)))
        values["p"] = p
        defaults["p"] = 2
        X = float_array(d, "X", shape, dtype)
    attributes = _attributes(d, {k: v for k, v in values.items() if k in defined}, defaults)
    return Case(op_type, {"X": X}, attributes, outputs=outputs, opset=opset, draws=d.record)


@st.composite
def global_pool_cases(draw, op_type: str, pins: Mapping[str, Any] | None = None) -> Case:
    """A GlobalAveragePool or GlobalMaxPool call: 1 to 3 spatial axes, odd and even sizes, N != C."""
    d = Draws(draw, pins)
    dtype = d("dtype", float_dtypes())
    rank = d("spatial_rank", st.sampled_from((1, 2, 2, 3)))
    C = d("C", st.integers(1, 4))
    N = d("N", other_than(C, 1, 3))
    cap = max(1, int((INPUT_BUDGET / (N * C)) ** (1 / rank)))
    sizes = d("spatial", st.lists(st.integers(1, min(12, cap)), min_size=rank, max_size=rank))
    X = float_array(d, "X", [N, C, *sizes], dtype)
    return Case(op_type, {"X": X}, {}, draws=d.record)


def pool_features(case: Case) -> dict[str, Any]:
    """The features of a MaxPool/AveragePool/LpPool case (manifest conditions, corners, reports)."""
    X, a = case.inputs["X"], case.attributes
    rank = X.ndim - 2
    auto_pad = a.get("auto_pad", "NOTSET")
    ceil_mode = int(a.get("ceil_mode", 0))
    kernel, strides, dilations, begins, ends, output = pool_geometry(
        X.shape[2:], a["kernel_shape"], a.get("strides"), a.get("dilations"), auto_pad, a.get("pads"), ceil_mode)
    floor_output = pool_geometry(X.shape[2:], kernel, strides, dilations, auto_pad, a.get("pads"), 0)[5]
    kept_output = pool_geometry(X.shape[2:], kernel, strides, dilations, auto_pad, a.get("pads"), ceil_mode,
                                frozenset({"ceil_window_in_padding_kept"}))[5]
    on_valid = pool_geometry(X.shape[2:], kernel, strides, dilations, auto_pad, a.get("pads"), ceil_mode,
                             frozenset({"ceil_mode_on_valid"}))[5]
    overhang = max((o - 1) * s + effective_kernel(k, dl) - (size + b + e) for o, s, k, dl, size, b, e
                   in zip(output, strides, kernel, dilations, X.shape[2:], begins, ends))
    padded = any(begins) or any(ends)
    raw_total = min((-(-n // s) - 1) * s + effective_kernel(k, dl) - n
                    for n, k, s, dl in zip(X.shape[2:], kernel, strides, dilations)) if auto_pad.startswith("SAME") else 0
    partial_window = bool((tap_counts(X.shape[2:], kernel, strides, dilations, begins, ends, output, False)
                           < int(np.prod(kernel))).any())
    return {
        "opset": case.opset,
        "spatial_rank": rank,
        "dtype": str(X.dtype),
        "auto_pad": auto_pad,
        "ceil_mode": ceil_mode,
        "count_include_pad": int(a.get("count_include_pad", 0)),
        "p": a.get("p", 2) if case.op_type == "LpPool" else 0,
        "with_indices": len(case.outputs) > 1,
        "storage_order": int(a.get("storage_order", 0)),
        "padded": padded,
        "asymmetric_pads": begins != ends,
        "strided": max(strides) > 1,
        "unit_strides_and_dilations": max(strides) == 1 and max(dilations) == 1,
        "dilated": max(dilations) > 1,
        "same_with_stride": auto_pad.startswith("SAME") and max(strides) > 1,
        # a dilation that changes the window (on an axis whose kernel has more than one tap)
        "same_dilated": auto_pad.startswith("SAME") and any(dl > 1 and k > 1 for dl, k in zip(dilations, kernel)),
        "odd_total_padding": auto_pad.startswith("SAME") and any((b + e) % 2 for b, e in zip(begins, ends)),
        "stride_exceeds_kernel": any(s > effective_kernel(k, dl) for s, k, dl in zip(strides, kernel, dilations)),
        # ceil_mode adds a partial last window; or would add one that starts in the end padding (dropped).
        "ceil_adds_window": output != floor_output,
        "ceil_window_dropped": kept_output != output,
        # a window reaches past the end padding (ceil mode): its overhang is no part of the padded input
        "ceil_overhang": overhang > 0,
        "ceil_overhang_extent": max(0, overhang),
        "ceil_mode_with_auto_pad": bool(ceil_mode) and auto_pad != "NOTSET",
        # VALID with ceil_mode, where rounding up (against the spec) would add a window
        "ceil_rounds_valid_up": on_valid != output,
        # SAME's total padding before it is clamped at zero (negative where a stride exceeds the kernel)
        "same_raw_total_padding": raw_total,
        # -2 or less: clamped or kept (the readings of pad_shape), the windows read other elements
        "same_window_shift": raw_total <= -2,
        "odd_spatial": any(s % 2 for s in X.shape[2:]),
        "even_spatial": any(s % 2 == 0 for s in X.shape[2:]),
        "batch_ne_channels": X.shape[0] != X.shape[1],
        "single_output": int(np.prod(output)) == 1,
        "pad_exceeds_half_kernel": any(2 * b > effective_kernel(k, dl) or 2 * e > effective_kernel(k, dl)
                                       for b, e, k, dl in zip(begins, ends, kernel, dilations)),
        "pad_ge_kernel": any(max(b, e) >= k for b, e, k in zip(begins, ends, kernel)),
        # some window has fewer taps inside the input than the kernel has (padding or overhang)
        "partial_window": partial_window,
        # AveragePool before opset 7 has no count_include_pad: such a window's divisor leaves the padding out
        "partial_window_without_count_include_pad": partial_window and case.op_type == "AveragePool"
        and "count_include_pad" not in pool_attributes(case.op_type, case.opset),
        "negative_window_at_padding": padded and bool(_negative_window_at_padding(X, kernel, strides, dilations,
                                                                                 begins, ends, output)),
        "max_abs_input": float(np.abs(X.astype(np.float64)).max()) if X.size else 0.0,
    }


def _negative_window_at_padding(X, kernel, strides, dilations, begins, ends, output) -> bool:
    """Whether a window that touches the padding holds only negative input elements (there, a max
    pooling that pads with 0 returns 0 instead of the largest element)."""
    if X.dtype.kind == "u":
        return False
    padded = np.pad(X.astype(np.float64), [(0, 0), (0, 0)] + list(zip(begins, ends)), constant_values=np.nan)
    overhang = [max(0, (o - 1) * s + effective_kernel(k, d) - n)
                for o, s, k, d, n in zip(output, strides, kernel, dilations, padded.shape[2:])]
    padded = np.pad(padded, [(0, 0), (0, 0)] + [(0, h) for h in overhang], constant_values=np.inf)
    windows = sliding_windows(padded, kernel, strides, dilations)
    windows = windows[(Ellipsis, *(slice(0, o) for o in output), *(slice(None),) * len(kernel))]
    axes = tuple(range(-len(kernel), 0))
    touches = np.isnan(windows).any(axis=axes)
    inside = np.where(np.isnan(windows) | np.isinf(windows), -np.inf, windows).max(axis=axes)
    return bool((touches & (inside < 0)).any())


def global_features(case: Case) -> dict[str, Any]:
    X = case.inputs["X"]
    return {
        "spatial_rank": X.ndim - 2,
        "dtype": str(X.dtype),
        "odd_spatial": any(s % 2 for s in X.shape[2:]),
        "even_spatial": any(s % 2 == 0 for s in X.shape[2:]),
        "batch_ne_channels": X.shape[0] != X.shape[1],
        "single_element": int(np.prod(X.shape[2:])) == 1,
        "spatial_size": int(np.prod(X.shape[2:])),
    }


def taps_per_window(case: Case) -> int:
    """k + 1: the taps of one window plus one rounding for the division (see the module docstring)."""
    return int(np.prod(case.attributes["kernel_shape"])) + 1


def elements_per_plane(case: Case) -> int:
    return int(np.prod(case.inputs["X"].shape[2:])) + 1


def lp_pool_bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """``(gamma_{k+p+3}(u) + u |ln S| / p) * y + (k * tiny)^(1/p)``: see the module docstring."""
    X, a = case.inputs["X"], dict(case.attributes)
    k = int(np.prod(a["kernel_shape"]))
    p = float(a.get("p", 2))
    u, tiny = unit_roundoff(X.dtype), float(np.finfo(X.dtype).tiny)
    y = lp_pool(X, **a, variants=tuple(variants))
    relative = np.full(y.shape, gamma(k + math.ceil(p) + 3, u))
    if not math.log2(p).is_integer():  # 1/p is rounded when it is not a power of two
        with np.errstate(divide="ignore"):
            log_s = np.abs(np.log(np.where(y > 0, y, 1.0) ** p))
        relative = relative + u * log_s / p
    return [relative * y + (k * tiny) ** (1.0 / p)]


POOL_CORNERS = (
    "spatial_rank=1", "spatial_rank=2", "spatial_rank=3",
    "dtype=float32", "dtype=float16", "dtype=float64",
    "auto_pad=NOTSET", "auto_pad=VALID", "auto_pad=SAME_UPPER", "auto_pad=SAME_LOWER",
    "ceil_mode=1", "ceil_adds_window", "ceil_window_dropped", "ceil_overhang", "ceil_mode_with_auto_pad",
    "ceil_rounds_valid_up",
    "padded", "asymmetric_pads", "strided", "dilated", "same_with_stride", "same_dilated", "odd_total_padding",
    "stride_exceeds_kernel", "same_window_shift", "odd_spatial", "even_spatial", "batch_ne_channels",
)


def _declaration(op_type: str, summary: str, tolerance, corners: tuple[str, ...]) -> OpDeclaration:
    def cases(pins: Mapping[str, Any] | None = None):
        return pool_cases(op_type, pins)

    return OpDeclaration(op_type=op_type, summary=summary, cases=cases, tolerance=tolerance,
                         features=pool_features, corners=POOL_CORNERS + corners)


def _global_declaration(op_type: str, summary: str, tolerance) -> OpDeclaration:
    def cases(pins: Mapping[str, Any] | None = None):
        return global_pool_cases(op_type, pins)

    return OpDeclaration(op_type=op_type, summary=summary, cases=cases, tolerance=tolerance, features=global_features,
                         corners=("spatial_rank=1", "spatial_rank=2", "spatial_rank=3", "dtype=float32",
                                  "dtype=float16", "dtype=float64", "odd_spatial", "even_spatial",
                                  "batch_ne_channels", "single_element"))


DECLARATIONS = (
    _declaration("MaxPool", "N-D max pooling with pads, auto_pad, strides, dilations, ceil_mode and Indices",
                 Exact(count=2),
                 ("dtype=int8", "dtype=uint8", "with_indices", "storage_order=1", "negative_window_at_padding")),
    _declaration("AveragePool", "N-D average pooling with count_include_pad, ceil_mode and dilations;"
                 " opsets 1 (padding never counted), 7, 10, 11, 19 and 22",
                 Accumulation(taps_per_window),
                 ("count_include_pad=1", "count_include_pad=0", "opset=1", "opset=7", "opset=10", "opset=11",
                  "opset=19", "opset=22", "partial_window_without_count_include_pad")),
    _declaration("LpPool", "N-D Lp-norm pooling (p = 1, 2, 3) with pads, strides, dilations and ceil_mode",
                 Derived(lp_pool_bounds, "(gamma_{k+p+3}(u) + u|ln S|/p) * y + (k*tiny)^(1/p)"), ("p=1", "p=2", "p=3")),
    _global_declaration("GlobalAveragePool", "mean over every spatial axis", Accumulation(elements_per_plane)),
    _global_declaration("GlobalMaxPool", "maximum over every spatial axis", Exact()),
)
