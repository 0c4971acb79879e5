"""Conv and ConvTranspose: the cases to draw, the features that describe them, the tolerance.

The strategies draw only valid geometry and lean on the corners where conventions differ:
N != C, odd and even spatial sizes, stride > 1 with SAME padding, odd total SAME padding (where
SAME_UPPER and SAME_LOWER part ways), SAME total padding of -2 or less in 3-D (a quarter of Conv's
cases aim there: TensorFlow's Eigen Conv3D shifts its windows; ``conformance.strategies.windows``),
asymmetric explicit pads, dilations, groups and depthwise
convolutions, even kernels, kernels that are never symmetric (so that a flipped kernel changes
the answer), weights across six decades of scale, and an input of about 4k elements at most.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from conformance.case import Case
from conformance.ops.declaration import OpDeclaration
from conformance.strategies import (
    Aim,
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
    SHIFT_STRIDES,
    STRIDES,
    kernel_shapes,
    shifted_axes,
    shifting_strides,
    spatial_sizes,
)
from conformance.tolerance import Accumulation
from reference.conv import conv_transpose_pads
from reference.windows import (
    effective_kernel,
    explicit_pads,
    window_output_shape,
    window_pads,
)

INPUT_BUDGET = 4096  # elements of X, so that a default run stays fast
AUTO_PADS = ("NOTSET", "NOTSET", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")


def _channels(d: Draws) -> tuple[int, int, int]:
    """(group, C, M): a single group, a few groups, or depthwise (one input channel per group)."""
    kind = d("grouping", st.sampled_from(("single", "single", "grouped", "depthwise")))
    if kind == "single":
        return 1, d("C", st.integers(1, 4)), d("M", st.integers(1, 4))
    group = d("group", st.integers(2, 4))
    per_group = 1 if kind == "depthwise" else d("C/group", st.integers(1, 2))
    return group, group * per_group, group * d("M/group", st.integers(1, 2))


def _kernel(d: Draws, rank: int, shifted: list[bool]) -> tuple[list[int], list[int]]:
    """Kernel shape and dilations per axis; 3-D keeps them small to stay within the budget. Aimed at
    SAME's window shift (``shifted`` axes), no dilations and a kernel of 1 or 2 on the shifted axes."""
    largest, widest = (3, 2) if rank == 3 else (4, 3)
    if any(shifted):
        return d("kernel_shape", kernel_shapes(tuple(shifted), largest)), d("dilations", st.just([1] * rank))
    kernel = d("kernel_shape", st.lists(st.integers(1, largest), min_size=rank, max_size=rank))
    dilations = d("dilations", st.lists(st.sampled_from((1, 1, 2, widest)), min_size=rank, max_size=rank))
    return kernel, dilations


def _spatial_sizes(d: Draws, lows: list[int], N: int, C: int, kernel=(), dilations=(), strides=(),
                   shifted=()) -> list[int]:
    """Spatial sizes of X, each at least ``low``, odd and even alike, within the element budget (on a
    shifted axis, one whose SAME total padding is -2 or less: ``conformance.strategies.windows``)."""
    cap = max(1, int((INPUT_BUDGET / (N * C)) ** (1 / len(lows))))
    return d("spatial", spatial_sizes(tuple(lows), cap, tuple(kernel), tuple(dilations), tuple(strides), tuple(shifted)))


def _never_symmetric(W: np.ndarray) -> np.ndarray:
    """Break an accidental mirror symmetry, so that flipping the kernel always changes the answer."""
    rank = W.ndim - 2
    flipped = W[(slice(None), slice(None)) + (slice(None, None, -1),) * rank]
    if np.prod(W.shape[2:]) > 1 and np.array_equal(W, flipped):
        W = W.copy()
        first = (0, 0) + (0,) * rank
        W[first] = W[first] + max(1.0, float(np.abs(W).max()))
    return W


def _attributes(d: Draws, values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes, with default values spelt out or left implicit (both forms are drawn)."""
    explicit = d("explicit_defaults", st.booleans())
    return {k: v for k, v in values.items() if v is not None and (explicit or v != defaults.get(k))}


def _operands(d: Draws, dtype, x_shape, w_shape, M: int) -> dict[str, np.ndarray | None]:
    X = float_array(d, "X", x_shape, dtype)
    W = _never_symmetric(float_array(d, "W", w_shape, dtype))
    B = float_array(d, "B", [M], dtype) if d("has_bias", st.booleans()) else None
    return {"X": X, "W": W, "B": B}


def _geometry_draws(d: Draws, shift: bool = False):
    """What Conv and ConvTranspose draw alike: dtype, rank, channels, batch, kernel, dilations, auto_pad;
    with ``shift``, aimed at 3-D SAME with a stride exceeding the kernel by 2 or more (Conv only: the
    axes to shift are returned too)."""
    dtype = d("dtype", float_dtypes())
    rank = d("spatial_rank", st.just(SHIFT_RANK) if shift else st.sampled_from((1, 2, 2, 2, 3)))
    group, C, M = _channels(d)
    N = d("N", other_than(C, 1, 3))
    shifted = d("shifted_axes", shifted_axes(rank)) if shift else [False] * rank
    kernel, dilations = _kernel(d, rank, shifted)
    extents = [effective_kernel(k, dl) for k, dl in zip(kernel, dilations)]
    auto_pad = d("auto_pad", st.sampled_from(SHIFT_AUTO_PADS if shift else AUTO_PADS))
    return dtype, rank, group, C, M, N, kernel, dilations, extents, auto_pad, shifted


@st.composite
def conv_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d = Draws(draw, pins)
    # A quarter of the cases aim at 3-D SAME with a stride exceeding the kernel by 2 or more, where
    # TensorFlow's Eigen Conv3D shifts its windows (conformance.strategies.windows).
    shift = d("region", st.sampled_from(REGIONS)) == SAME_WINDOW_SHIFT
    dtype, rank, group, C, M, N, kernel, dilations, extents, auto_pad, shifted = _geometry_draws(d, shift)
    if shift:
        strides = d("strides", shifting_strides(tuple(extents), tuple(shifted)))
    else:
        strides = d("strides", st.lists(st.sampled_from(STRIDES), min_size=rank, max_size=rank))
    pads = None
    if auto_pad == "NOTSET":
        pads = d("pads", integer_lists(tuple((0, e - 1) for e in extents * 2)))
    begins, ends = explicit_pads(pads, rank)
    # SAME pads whatever the input; otherwise the padded input must hold one dilated kernel.
    lows = [1 if auto_pad.startswith("SAME") else max(1, e - b - en) for e, b, en in zip(extents, begins, ends)]
    sizes = _spatial_sizes(d, lows, N, C, kernel, dilations, strides, shifted)
    attributes = _attributes(
        d,
        {"auto_pad": auto_pad, "dilations": dilations, "group": group, "kernel_shape": kernel,
         "pads": pads, "strides": strides},
        {"auto_pad": "NOTSET", "dilations": [1] * rank, "group": 1, "kernel_shape": kernel,
         "pads": [0] * 2 * rank, "strides": [1] * rank},
    )
    inputs = _operands(d, dtype, [N, C, *sizes], [M, C // group, *kernel], M)
    return Case("Conv", inputs, attributes, draws=d.record)


@st.composite
def conv_transpose_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d = Draws(draw, pins)
    dtype, rank, group, C, M, N, kernel, dilations, extents, auto_pad, _ = _geometry_draws(d)
    output_shape_given = d("output_shape_given", st.booleans()) if auto_pad != "VALID" else False
    derived = output_shape_given or auto_pad in ("SAME_UPPER", "SAME_LOWER")
    # Derived padding must not be negative, which the specification leaves undefined: stride <= extent.
    strides = d("strides", st.tuples(*(st.sampled_from((1, 1, 2, 3)).filter(lambda s, e=e: not derived or s <= e)
                                       for e in extents)).map(list))
    output_padding = None
    if any(s > 1 for s in strides) and d("with_output_padding", st.booleans()):
        output_padding = d("output_padding", integer_lists(tuple((0, s - 1) for s in strides)))
    adds = output_padding or [0] * rank
    pads = None
    if auto_pad == "NOTSET" and not output_shape_given:
        pads = d("pads", integer_lists(tuple((0, e - 1) for e in extents * 2)))
    begins, ends = explicit_pads(pads, rank)
    # The smallest input whose cropped output keeps at least one element on every axis.
    lows = [max(1, 1 + math.ceil((b + en + 1 - e - a) / s)) for e, b, en, a, s in zip(extents, begins, ends, adds, strides)]
    sizes = _spatial_sizes(d, lows, N, C)
    output_shape = None
    if output_shape_given:
        grown = [s * (i - 1) + e + a for i, s, e, a in zip(sizes, strides, extents, adds)]
        # A total of -1 (one more than the full result, on a strided axis without output_padding)
        # is pinned by ONNX's own test data outside SAME_*; lower totals, or -1 under SAME_*, depend
        # on how the spec's "/2" rounds a negative number.
        least = [-1 if auto_pad == "NOTSET" and s > 1 and not a else 0 for s, a in zip(strides, adds)]
        totals = d("output_shape_crop", st.tuples(*(st.integers(lo, min(g - 1, 2 * e))
                                                    for lo, g, e in zip(least, grown, extents))))
        output_shape = [g - t for g, t in zip(grown, totals)]
    attributes = _attributes(
        d,
        {"auto_pad": auto_pad, "dilations": dilations, "group": group, "kernel_shape": kernel,
         "output_padding": output_padding, "output_shape": output_shape, "pads": pads, "strides": strides},
        {"auto_pad": "NOTSET", "dilations": [1] * rank, "group": 1, "kernel_shape": kernel,
         "output_padding": [0] * rank, "pads": [0] * 2 * rank, "strides": [1] * rank},
    )
    inputs = _operands(d, dtype, [N, C, *sizes], [C, M // group, *kernel], M)
    return Case("ConvTranspose", inputs, attributes, draws=d.record)


def _geometry(case: Case) -> dict[str, Any]:
    X, W = case.inputs["X"], case.inputs["W"]
    rank = X.ndim - 2
    a = case.attributes
    return {
        "rank": rank,
        "kernel": list(W.shape[2:]),
        "strides": list(a.get("strides", [1] * rank)),
        "dilations": list(a.get("dilations", [1] * rank)),
        "pads": list(a.get("pads", [0] * 2 * rank)),
        "auto_pad": a.get("auto_pad", "NOTSET"),
        "group": a.get("group", 1),
    }


def _common_features(case: Case, g: dict[str, Any], output: list[int], odd_total_padding: bool,
                     depthwise: bool) -> dict[str, Any]:
    X, W, B = case.inputs["X"], case.inputs["W"], case.inputs.get("B")
    rank, pads = g["rank"], g["pads"]
    flipped = W[(slice(None), slice(None)) + (slice(None, None, -1),) * rank]
    return {
        "spatial_rank": rank,
        "dtype": str(X.dtype),
        "auto_pad": g["auto_pad"],
        "group": g["group"],
        "grouped": g["group"] > 1,
        "depthwise": depthwise,
        "has_bias": B is not None,
        "strided": max(g["strides"]) > 1,
        "dilated": max(g["dilations"]) > 1,
        "padded": any(pads),
        "asymmetric_pads": pads[:rank] != pads[rank:],
        "same_with_stride": g["auto_pad"].startswith("SAME") and max(g["strides"]) > 1,
        # Where SAME's total padding would be negative and is clamped to zero.
        "stride_exceeds_kernel": any(s > (k - 1) * d + 1 for s, k, d in zip(g["strides"], g["kernel"], g["dilations"])),
        "odd_total_padding": odd_total_padding,
        "odd_spatial": any(s % 2 for s in X.shape[2:]),
        "even_spatial": any(s % 2 == 0 for s in X.shape[2:]),
        "batch": X.shape[0],
        "channels": X.shape[1],
        "channels_per_group": X.shape[1] // g["group"],
        "batch_ne_channels": X.shape[0] != X.shape[1],
        # A stride that never applies: one output along a strided innermost axis.
        "strided_last_axis_single_output": g["strides"][-1] > 1 and output[-1] == 1,
        "last_axis_output": output[-1],
        "last_axis_stride": g["strides"][-1],
        "second_last_axis_output": output[-2] if rank > 1 else 0,
        "second_last_axis_stride": g["strides"][-2] if rank > 1 else 0,
        "even_kernel": any(k % 2 == 0 for k in g["kernel"]),
        "asymmetric_kernel": not np.array_equal(W, flipped),
        "kernel_shape_given": "kernel_shape" in case.attributes,
        "max_abs_input": float(np.abs(X).max()) if X.size else 0.0,
    }


def conv_features(case: Case) -> dict[str, Any]:
    g = _geometry(case)
    X, W = case.inputs["X"], case.inputs["W"]
    begins, ends = window_pads(X.shape[2:], g["kernel"], g["strides"], g["dilations"], g["auto_pad"], g["pads"])
    output = window_output_shape(X.shape[2:], g["kernel"], g["strides"], g["dilations"], begins, ends)
    same = g["auto_pad"].startswith("SAME")
    odd = same and any((b + e) % 2 for b, e in zip(begins, ends))
    depthwise = g["group"] > 1 and g["group"] == X.shape[1] and W.shape[1] == 1
    features = _common_features(case, g, output, odd, depthwise)
    # SAME's total padding before it is clamped at zero (negative where a stride exceeds the kernel).
    features["same_raw_total_padding"] = min(
        (o - 1) * s + effective_kernel(k, d) - i
        for o, s, k, d, i in zip(output, g["strides"], g["kernel"], g["dilations"], X.shape[2:])
    ) if same else 0
    # -2 or less: clamped (the spec) or kept (TensorFlow's Eigen Conv3D), the windows read other elements.
    features["same_window_shift"] = features["same_raw_total_padding"] <= -2
    return features


def conv_transpose_features(case: Case) -> dict[str, Any]:
    g = _geometry(case)
    X = case.inputs["X"]
    a = case.attributes
    rank = g["rank"]
    output_padding = list(a.get("output_padding", [0] * rank))
    begins, ends, output = conv_transpose_pads(X.shape[2:], g["kernel"], g["strides"], g["dilations"],
                                               output_padding, g["auto_pad"], g["pads"], a.get("output_shape"))
    derived = "output_shape" in a or g["auto_pad"].startswith("SAME")
    odd = derived and any((b + e) % 2 for b, e in zip(begins, ends))
    depthwise = g["group"] > 1 and g["group"] == X.shape[1]
    features = _common_features(case, g, output, odd, depthwise)
    features["output_padding"] = any(output_padding)
    features["output_shape_given"] = "output_shape" in a
    return features


def products_per_output(case: Case) -> int:
    """Products summed into one output element: C/group * prod(kernel), plus one for the bias."""
    X, W = case.inputs["X"], case.inputs["W"]
    per_group = X.shape[1] // case.attributes.get("group", 1)
    return per_group * int(np.prod(W.shape[2:])) + (case.inputs.get("B") is not None)


def kernel_l1_times_input_max(case: Case) -> list[np.ndarray]:
    """Per image n and output channel m: sum over m's input channels c of ||W[m, c]||_1 * max|X[n, c]|.

    Young's inequality bounds every output, and every product a transform-based algorithm forms
    for it, by this magnitude (see conformance.tolerance).
    """
    X, W = (np.abs(case.inputs[k].astype(np.float64)) for k in ("X", "W"))
    group = case.attributes.get("group", 1)
    N, C, rank = X.shape[0], X.shape[1], X.ndim - 2
    input_max = X.reshape(N, group, C // group, -1).max(axis=-1)
    if case.op_type == "Conv":  # W: (M, C/group, *k)
        weights = W.reshape(group, W.shape[0] // group, C // group, -1).sum(axis=-1)
    else:  # ConvTranspose, W: (C, M/group, *k)
        weights = W.reshape(group, C // group, W.shape[1], -1).sum(axis=-1).transpose(0, 2, 1)
    magnitude = np.einsum("ngc,gmc->ngm", input_max, weights)
    return [magnitude.reshape(N, -1, *([1] * rank))]


def _drawn_channels_per_group(r: Mapping[str, Any]) -> int:
    """C/group from the draws: decided by the grouping and, unless depthwise, by C or C/group."""
    kind = r["grouping"]
    return 1 if kind == "depthwise" else r["C"] if kind == "single" else r["C/group"]


def _drawn_output(r: Mapping[str, Any]) -> list[int]:
    """Conv's output sizes from the draws, once the spatial sizes are drawn (as ``conv_features``)."""
    begins, ends = window_pads(r["spatial"], r["kernel_shape"], r["strides"], r["dilations"], r["auto_pad"],
                               r.get("pads") if r["auto_pad"] == "NOTSET" else None)
    return window_output_shape(r["spatial"], r["kernel_shape"], r["strides"], r["dilations"], begins, ends)


def _drawn_same_raw_total_padding(r: Mapping[str, Any]) -> int:
    """As ``conv_features``: SAME's least total padding before the clamp at zero, 0 otherwise."""
    if not r["auto_pad"].startswith("SAME"):
        return 0
    return min((-(-i // s) - 1) * s + effective_kernel(k, dl) - i
               for i, s, k, dl in zip(r["spatial"], r["strides"], r["kernel_shape"], r["dilations"]))


def _same_raw_total_padding_reach(r: Mapping[str, Any]) -> tuple[float, float]:
    """What SAME's least raw total padding can still be once the region is drawn (strides of at most
    4 in the SAME corner, at most 3 elsewhere, on extents of 1 or more), and once the strides are: on
    an axis of stride s and dilated extent e it is (ceil(i/s) - 1)*s + e - i, between e - s and e - 1."""
    if "strides" not in r:
        return 1 - max(SHIFT_STRIDES if r["region"] == SAME_WINDOW_SHIFT else STRIDES), math.inf
    if not r["auto_pad"].startswith("SAME"):
        return 0, 0
    extents = [effective_kernel(k, dl) for k, dl in zip(r["kernel_shape"], r["dilations"])]
    return min(e - s for e, s in zip(extents, r["strides"])), min(e - 1 for e in extents)


# The derived features a known divergence's probe aims at (conformance.strategies.Aim), from the draws
# that decide them; each agrees with conv_features (tests/test_probe_cache.py checks that).
COMMON_AIMS = {
    "dilated": Aim(("dilations",), lambda r: max(r["dilations"]) > 1),
    "grouped": Aim(("grouping",), lambda r: r["grouping"] != "single"),
    "channels_per_group": Aim(("grouping", "C", "C/group"), _drawn_channels_per_group),
    "last_axis_stride": Aim(("strides",), lambda r: r["strides"][-1]),
    "second_last_axis_stride": Aim(("strides",), lambda r: r["strides"][-2] if len(r["strides"]) > 1 else 0),
}
CONV_AIMS = {
    **COMMON_AIMS,
    "last_axis_output": Aim(("spatial",), lambda r: _drawn_output(r)[-1]),
    "second_last_axis_output": Aim(("spatial",), lambda r: _drawn_output(r)[-2] if len(r["spatial"]) > 1 else 0),
    "same_raw_total_padding": Aim(("spatial",), _drawn_same_raw_total_padding, ("region", "strides"),
                                  _same_raw_total_padding_reach),
}

CORNERS = (
    "spatial_rank=1", "spatial_rank=2", "spatial_rank=3",
    "dtype=float32", "dtype=float16", "dtype=float64",
    "auto_pad=NOTSET", "auto_pad=VALID", "auto_pad=SAME_UPPER", "auto_pad=SAME_LOWER",
    "grouped", "depthwise", "has_bias", "has_bias=False", "strided", "dilated",
    "asymmetric_pads", "same_with_stride", "odd_total_padding", "odd_spatial", "even_spatial",
    "batch_ne_channels", "even_kernel", "asymmetric_kernel", "kernel_shape_given", "kernel_shape_given=False",
    "strided_last_axis_single_output", "stride_exceeds_kernel",
)

DECLARATIONS = (
    OpDeclaration(
        op_type="Conv",
        summary="N-D convolution (cross-correlation) with groups, strides, dilations and padding",
        cases=conv_cases,
        tolerance=Accumulation(products_per_output, kernel_l1_times_input_max),
        features=conv_features,
        corners=CORNERS + ("same_window_shift",),
        aims=CONV_AIMS,
    ),
    OpDeclaration(
        op_type="ConvTranspose",
        summary="N-D transposed convolution with output_padding and output_shape",
        cases=conv_transpose_cases,
        tolerance=Accumulation(products_per_output, kernel_l1_times_input_max),
        features=conv_transpose_features,
        corners=CORNERS + ("output_padding", "output_shape_given"),
        aims=COMMON_AIMS,
    ),
)
