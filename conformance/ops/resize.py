"""Resize (opset 19): the cases to draw, the features that describe them, the error bound.

The strategy draws valid calls only and leans on the corners where conventions differ: every
mode, every coordinate_transformation_mode and nearest_mode, scales whose ``in * scale`` is not an
integer (where the given scale and ``out / in`` part ways), an output of one element
(pytorch_half_pixel and align_corners special-case it), downscaling with and without antialias,
cubic_coeff_a -0.75, -0.5 and others, exclude_outside, sizes with each keep_aspect_ratio_policy,
``axes`` (negative, unsorted, a subset), a roi reaching beyond the input (tf_crop_and_resize
extrapolates there), power-of-two scales (where nearest_mode's ties are exact), 3-D to 5-D inputs
with resized batch or channel axes now and then, and int8/uint8 inputs for nearest.

Two choices keep every drawn call unambiguous under the spec:

- ``floor(in * scale)`` is ambiguous when ``in * scale`` lies within float32 rounding below an
  integer (the output size then depends on the precision of the product): such scales are not
  drawn with that input size;
- tf_crop_and_resize is drawn with ``sizes``: with ``scales``, the spec's output size formula
  (``floor(in * (roi_end - roi_start) * scale)``) and ONNX's shape inference (``floor(in * scale)``)
  disagree.

The error bound (``resize_bounds``). A backend computes, per resized axis, the coordinates
``x_original`` from the float32 scales and roi, the weights from the coordinates, and the output
as a weighted sum. With u the unit roundoff of X's dtype and u_c = 2^-24 (coordinates and
weights are computed in float32 at least: the scales and roi inputs are float32):

1. The coordinate formulas take at most 8 roundings, each within u_c of a magnitude at most R:
   ``(out + 1) / scale + in + 1`` (the terms ``(x + 0.5) / scale``, ``x * (in - 1) / (length - 1)``
   and half_pixel_symmetric's offset), or ``(in + 1)(1 + 2 |roi_start| + |roi_end|)`` for
   tf_crop_and_resize: ``|x_hat - x| <= delta = 8 u_c R``.
   When the scale is a power of two (and the mode one whose other terms are then exact), every
   operation is exact for any formula a backend may use (dividing by the scale, multiplying by
   its reciprocal, or by in/out): delta = 0. This is where nearest's ties (round_prefer_floor
   against round_prefer_ceil) are decided, so they are judged exactly.
2. The weights are piecewise polynomial in ``x_original``; the interpolation matrix ``A`` of an
   axis moves by at most ``E_c = 2 max(|A(x + delta) - A(x)|, |A(x - delta) - A(x)|)`` within
   ``[x - delta, x + delta]`` (the reference evaluated at the shifted coordinates; the factor 2
   covers a kink or extremum inside the interval). For nearest this is the element on the other
   side of a rounding boundary, and 0 away from one.
3. Computing a weight from its coordinate costs at most 12 roundings of terms bounded by
   ``P = max(|a + 2| + |a + 3| + 1, 48 |a|)`` for Keys' kernel (1 for linear):
   ``E_w = gamma_12(u_c) P`` on every tap of the stencil, plus ``gamma_{taps+2}(u_c) |A|`` where the
   weights are renormalized (antialias, exclude_outside). A backend may also interpolate along the
   axes left alone, at scale 1 (onnxruntime's 4-D bicubic does): exact coordinates, and E_w there.
4. The weighted sums, along one axis after the other or all at once, take at most
   ``n = prod(taps) + sum(taps) + axes`` roundings: ``gamma_n(u) * |A| |X|``. Nearest copies an
   element: n = 0, and the output must be exact wherever the choice of element is certain.

So, with ``|A|`` and ``|A| + E`` applied along every resized axis to ``|X|``:

    bound = apply(|A| + E_c + E_w)|X| - apply(|A|)|X| + gamma_n(u) apply(|A|)|X| + 2n tiny

plus ``|extrapolation_value| + apply(|A| + E)|X|`` where a coordinate within delta of the input's
edge makes tf_crop_and_resize's extrapolation itself uncertain. A convention bug (another
coordinate mode, scale or kernel) moves outputs by a sizeable fraction of the input's values.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np
from hypothesis import assume

from conformance.case import Case
from conformance.ops.declaration import OpDeclaration
from conformance.ops.pooling import integer_array
from conformance.strategies import Draws, float_array, integer_lists
from conformance.strategies import built_once as st
from conformance.tolerance import Derived, gamma, unit_roundoff
from reference.resize import (
    COORDINATE_MODES,
    NEAREST_MODES,
    AxisResize,
    apply_axes,
    resize_axes,
)

INPUT_BUDGET, OUTPUT_BUDGET = 4096, 8192
COORDINATE_ROUNDOFF = 2.0**-24  # u_c: coordinates and weights come from float32 scales and roi
POWER_OF_TWO_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
OTHER_EXACT_SCALES = (0.75, 1.5, 3.0, 0.625, 1.25)  # exact in float32, yet not powers of two
INEXACT_SCALES = (0.3, 0.6, 1 / 3, 2 / 3, 0.7, 1.7, 2.4)  # rounded to float32
SIZE_KEEPING_SCALE = 1.1  # floor(n * 1.1) = n for every drawn size (n <= 9)
ROI_STARTS, ROI_ENDS = (0.0, 0.0, 0.1, 0.25, 0.4, -0.2), (1.0, 1.0, 0.9, 0.75, 0.6, 1.2)


def _is_power_of_two(value: float) -> bool:
    return value > 0 and math.frexp(value)[0] == 0.5


def _floor_is_ambiguous(product: float) -> bool:
    """Whether floor(in * scale) depends on the precision of the product (just below an integer)."""
    nearest = round(product)
    return product != nearest and abs(product - nearest) <= 1e-5 * max(1.0, abs(product))


def _draw_scales(d: Draws, sizes_in: list[int], integer: bool) -> list[float]:
    choices = POWER_OF_TWO_SCALES if integer else POWER_OF_TWO_SCALES * 2 + OTHER_EXACT_SCALES + INEXACT_SCALES
    scales = [float(np.float32(s)) for s in d("scales", st.lists(st.sampled_from(choices), min_size=len(sizes_in),
                                                                   max_size=len(sizes_in)))]
    for n, s in zip(sizes_in, scales):
        assume(math.floor(n * s) >= 1 and not _floor_is_ambiguous(n * s))
    return scales


@st.composite
def resize_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d = Draws(draw, pins)
    # The first value of each choice is what Hypothesis tries first: a 4-D bilinear resize by sizes,
    # which every backend (TensorFlow included) can express.
    mode = d("mode", st.sampled_from(("linear", "nearest", "cubic")))
    floats = ("float32",) * 6 + ("float16", "float64")
    dtype = d("dtype", st.sampled_from(floats + (("int8", "uint8") if mode == "nearest" else ())))
    integer = dtype in ("int8", "uint8")
    rank = d("rank", st.sampled_from((4, 4, 3, 4, 4, 5)))
    coordinate_mode = d("coordinate_transformation_mode", st.sampled_from(
        ("half_pixel", "half_pixel", "asymmetric", "pytorch_half_pixel") if integer else COORDINATE_MODES))
    cap = max(1, int((INPUT_BUDGET / 4) ** (1 / (rank - 2))))
    N, C = d("N", st.integers(1, 2)), d("C", st.integers(1, 3))
    spatial = d("spatial", st.lists(st.integers(1, min(9, cap)), min_size=rank - 2, max_size=rank - 2))
    shape = [N, C, *spatial]
    # Which axes are resized: all of them (batch and channels mostly unscaled), the spatial ones
    # named in axes, or a subset of them in any order, negative indices included.
    form = d("axes_form", st.sampled_from(("all", "all", "spatial", "subset")))
    axes = None
    if form == "spatial":
        axes = list(range(2, rank))
    elif form == "subset":
        axes = d("axes", st.lists(st.sampled_from(range(2, rank)), min_size=1, max_size=rank - 2, unique=True))
    if axes is not None and d("negative_axes", st.booleans()):
        axes = [a - rank for a in axes]
    resized = list(range(rank)) if axes is None else [a % rank for a in axes]
    sizes_in = [shape[a] for a in resized]
    given = "sizes" if coordinate_mode == "tf_crop_and_resize" or (
        not integer and d("given", st.sampled_from(("sizes", "scales"))) == "sizes") else "scales"
    inputs: dict[str, np.ndarray | None] = {"X": None, "roi": None, "scales": None, "sizes": None}
    attributes: dict[str, Any] = {"mode": mode, "coordinate_transformation_mode": coordinate_mode}
    batch_channel_resized = axes is None and d("resize_batch_or_channels", st.booleans())
    if given == "scales":
        # Now and then a scale that moves the sampling points but not the size (floor(n * 1.1) = n
        # for n <= 9), where a runtime may take the unchanged shape for an identity.
        if not integer and d("scales_keep_sizes", st.sampled_from((False,) * 7 + (True,))):
            scales = [float(np.float32(SIZE_KEEPING_SCALE))] * len(sizes_in)
        else:
            scales = _draw_scales(d, sizes_in, integer)
        if axes is None and not batch_channel_resized:
            scales[0] = scales[1] = 1.0
        inputs["scales"] = np.array(scales, dtype=np.float32)
        sizes_out = [math.floor(n * s) for n, s in zip(sizes_in, scales)]
    else:
        targets = d("sizes", integer_lists(tuple((1, 2 * n + 3) for n in sizes_in)))
        if axes is None and not batch_channel_resized:
            targets[0], targets[1] = shape[0], shape[1]
        policy = d("keep_aspect_ratio_policy", st.sampled_from(("stretch", "stretch", "not_larger", "not_smaller")))
        if policy != "stretch":
            attributes["keep_aspect_ratio_policy"] = policy
            ratios = [t / n for t, n in zip(targets, sizes_in)]
            common = min(ratios) if policy == "not_larger" else max(ratios)
            products = [common * n for n in sizes_in]
            # round_int of a product near a half depends on how the ratio was computed: not drawn.
            assume(all(abs(p - math.floor(p) - 0.5) > 1e-4 for p in products))
            sizes_out = [math.floor(p + 0.5) for p in products]
            assume(min(sizes_out) >= 1)
        else:
            sizes_out = targets
        inputs["sizes"] = np.array(targets, dtype=np.int64)
    out_shape = list(shape)
    for a, o in zip(resized, sizes_out):
        out_shape[a] = o
    assume(int(np.prod(out_shape)) <= OUTPUT_BUDGET)
    if axes is not None:
        attributes["axes"] = axes
    if coordinate_mode == "tf_crop_and_resize":
        starts = d("roi_starts", st.lists(st.sampled_from(ROI_STARTS), min_size=len(resized), max_size=len(resized)))
        ends = d("roi_ends", st.lists(st.sampled_from(ROI_ENDS), min_size=len(resized), max_size=len(resized)))
        if axes is None and not batch_channel_resized:
            starts[0] = starts[1] = 0.0
            ends[0] = ends[1] = 1.0
        inputs["roi"] = np.array(starts + ends, dtype=np.float32)
        attributes["extrapolation_value"] = d("extrapolation_value", st.sampled_from((0.0, 10.0, -1.5)))
    if mode == "nearest":
        attributes["nearest_mode"] = d("nearest_mode", st.sampled_from(NEAREST_MODES))
    else:
        attributes["antialias"] = d("antialias", st.sampled_from((0, 1) if min(sizes_out) else (0,)))
        attributes["exclude_outside"] = d("exclude_outside", st.sampled_from((0, 0, 1) if mode == "linear" else (0, 1)))
    if mode == "cubic":
        attributes["cubic_coeff_a"] = d("cubic_coeff_a", st.sampled_from((-0.75, -0.75, -0.5, -0.6)))
    X = integer_array(d, "X", shape, dtype) if integer else float_array(d, "X", shape, dtype)
    inputs["X"] = X
    if d("explicit_defaults", st.booleans()) is False:
        defaults = {"antialias": 0, "exclude_outside": 0, "cubic_coeff_a": -0.75, "nearest_mode": "round_prefer_floor",
                    "coordinate_transformation_mode": "half_pixel", "mode": "nearest",
                    "keep_aspect_ratio_policy": "stretch", "extrapolation_value": 0.0}
        attributes = {k: v for k, v in attributes.items() if defaults.get(k, object()) != v}
    case = Case("Resize", inputs, attributes, draws=d.record)
    if integer:  # integer outputs are compared exactly: only exactly computable coordinates
        assume(all(exact_coordinates(r) for r in _axes(case)))
    return case


def _axes(case: Case, variants: Iterable[str] = ()) -> list[AxisResize]:
    inputs = case.inputs
    return resize_axes(inputs["X"].shape, inputs.get("roi"), inputs.get("scales"), inputs.get("sizes"),
                       **{k: v for k, v in case.attributes.items() if k != "extrapolation_value"},
                       variants=frozenset(variants), opset=case.opset)


def exact_coordinates(axis: AxisResize) -> bool:
    """Whether every formula a backend may use computes this axis' coordinates without rounding.

    True when the coordinate map is ``x * 2^k + constant`` with short constants: a power-of-two
    scale (from scales, or from sizes at a power-of-two ratio) for half_pixel, pytorch_half_pixel,
    asymmetric and tf_half_pixel_for_nn, the same with ``in * scale`` an integer for
    half_pixel_symmetric (its offset is then 0), and a power-of-two ``(in - 1) / (out - 1)`` with
    an integer output length for align_corners; never for tf_crop_and_resize (roi values are
    rounded to float32).
    """
    plan, mode = axis.plan, axis.interpolation.coordinate_mode
    integral = plan.length_resized == plan.size_out
    if mode == "pytorch_half_pixel" and plan.length_resized <= 1:
        return True  # x_original = 0
    if mode in ("half_pixel", "pytorch_half_pixel", "asymmetric", "tf_half_pixel_for_nn"):
        return _is_power_of_two(plan.scale)
    if mode == "half_pixel_symmetric":
        return _is_power_of_two(plan.scale) and integral
    if mode == "align_corners":
        if plan.size_out == 1 or plan.size_in == 1:
            return integral  # x_original = 0
        return integral and _is_power_of_two((plan.size_in - 1) / (plan.size_out - 1))
    return False


def coordinate_error(axis: AxisResize) -> float:
    """delta: how far a backend's float32 coordinates may be from the exact ones (module docstring, 1)."""
    if exact_coordinates(axis):
        return 0.0
    plan = axis.plan
    if axis.interpolation.coordinate_mode == "tf_crop_and_resize":
        magnitude = (plan.size_in + 1) * (1 + 2 * abs(plan.roi_start) + abs(plan.roi_end))
    else:
        magnitude = (plan.size_out + 1) / max(plan.scale, 1e-30) + plan.size_in + 1
    return 8 * COORDINATE_ROUNDOFF * magnitude


def _weight_error(axis: AxisResize) -> np.ndarray:
    """E_w: the rounding of the weights themselves (module docstring, 3)."""
    interpolation, matrix = axis.interpolation, axis.matrix
    if interpolation.mode == "nearest":
        return np.zeros_like(matrix)
    a = interpolation.cubic_coeff_a
    size = 1.0 if interpolation.mode == "linear" else max(abs(a + 2) + abs(a + 3) + 1, 48 * abs(a))
    error = gamma(12, COORDINATE_ROUNDOFF) * size * interpolation.stencil(axis.plan, axis.coordinates)
    if interpolation.antialias or interpolation.exclude_outside:
        error = error + gamma(interpolation.taps(axis.plan) + 2, COORDINATE_ROUNDOFF) * np.abs(matrix)
    return error


def resize_bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """The bound of the module docstring, per output element."""
    X = case.inputs["X"]
    magnitude_input = np.abs(X.astype(np.float64))
    axes = _axes(case, variants)
    exact_matrices, loose_matrices = [], []
    ambiguous_extrapolation = np.zeros([1] * X.ndim, dtype=bool)
    for axis in axes:
        delta = coordinate_error(axis)
        shifted = [axis.interpolation.matrix(axis.plan, axis.coordinates + s) for s in (-delta, delta)] if delta else []
        moved = 2 * np.maximum.reduce([np.abs(m - axis.matrix) for m in shifted]) if shifted else 0.0
        exact_matrices.append((axis.plan.axis, np.abs(axis.matrix)))
        loose_matrices.append((axis.plan.axis, np.abs(axis.matrix) + moved + _weight_error(axis)))
        if axis.interpolation.coordinate_mode == "tf_crop_and_resize" or (
                case.attributes.get("coordinate_transformation_mode") == "tf_crop_and_resize" and delta):
            n = axis.plan.size_in
            flips = np.zeros(axis.plan.size_out, dtype=bool)
            for s in (-delta, delta):
                c = axis.coordinates + s
                flips |= ((c < 0) | (c > n - 1)) != axis.outside
            view = [1] * X.ndim
            view[axis.plan.axis] = axis.plan.size_out
            ambiguous_extrapolation = ambiguous_extrapolation | flips.reshape(view)
    if axes and axes[0].interpolation.mode != "nearest":
        # A backend may also interpolate along the axes the call leaves alone, at scale 1
        # (onnxruntime's 4-D bicubic does): the coordinates are exact there, the weights carry their
        # rounding (module docstring, 3).
        resized = {axis.plan.axis for axis in axes}
        for axis_index in set(range(X.ndim)) - resized:
            n = X.shape[axis_index]
            identity = resize_axes((n,), None, np.array([1.0], np.float32), None,
                                   mode=axes[0].interpolation.mode,
                                   cubic_coeff_a=axes[0].interpolation.cubic_coeff_a)[0]
            exact_matrices.append((axis_index, np.abs(identity.matrix)))
            loose_matrices.append((axis_index, np.abs(identity.matrix) + _weight_error(identity)))
    magnitude = apply_axes(magnitude_input, exact_matrices)
    loose = apply_axes(magnitude_input, loose_matrices)
    taps = [a.interpolation.taps(a.plan) for a in axes]
    # nearest copies an element: no arithmetic, so no rounding (only the choice can be uncertain)
    n = 0 if case.attributes.get("mode", "nearest") == "nearest" else int(np.prod(taps)) + sum(taps) + len(taps)
    if X.dtype.kind == "f":
        u, tiny = unit_roundoff(X.dtype), float(np.finfo(X.dtype).tiny)
    else:  # integer outputs are compared exactly; the bound is not used
        u, tiny = 0.0, 0.0
    bound = (loose - magnitude) + gamma(n, u) * magnitude + 2 * n * tiny
    extrapolation = abs(float(case.attributes.get("extrapolation_value", 0.0)))
    bound = np.where(ambiguous_extrapolation, bound + loose + extrapolation, bound)
    return [bound]


def resize_features(case: Case) -> dict[str, Any]:
    a, X = case.attributes, case.inputs["X"]
    axes = _axes(case)
    plans = [r.plan for r in axes]
    rank = X.ndim
    mode = a.get("mode", "nearest")
    coordinate_mode = a.get("coordinate_transformation_mode", "half_pixel")
    given = "scales" if case.inputs.get("scales") is not None else "sizes"
    nearest_tie = mode == "nearest" and any(
        np.any((r.coordinates - np.floor(r.coordinates)) == 0.5) for r in axes)
    extrapolates = coordinate_mode == "tf_crop_and_resize" and any(r.outside.any() for r in axes)
    resized = [p for p in plans if p.size_out != p.size_in or p.scale != 1.0]
    scale_of = {axis: 1.0 for axis in range(rank)}
    scale_of.update({p.axis: float(np.float32(p.scale)) for p in plans})  # as a float32 runtime holds it
    return {
        "rank": rank,
        "dtype": str(X.dtype),
        "mode": mode,
        "coordinate_transformation_mode": coordinate_mode,
        "nearest_mode": a.get("nearest_mode", "round_prefer_floor") if mode == "nearest" else "",
        "given": given,
        "keep_aspect_ratio_policy": a.get("keep_aspect_ratio_policy", "stretch") if given == "sizes" else "",
        "antialias": int(a.get("antialias", 0)) if mode != "nearest" else 0,
        "exclude_outside": int(a.get("exclude_outside", 0)) if mode != "nearest" else 0,
        "cubic_coeff_a": float(a.get("cubic_coeff_a", -0.75)) if mode == "cubic" else 0.0,
        "axes_given": "axes" in a,
        "negative_axes": any(x < 0 for x in a.get("axes", [])),
        "unsorted_axes": list(a.get("axes", [])) != sorted(a.get("axes", [])),
        "downscale": any(p.size_out < p.size_in for p in plans),
        "upscale": any(p.size_out > p.size_in for p in plans),
        "non_integer_length": any(p.length_resized != p.size_out for p in plans),
        "output_size_one": any(p.size_out == 1 and p.size_in > 1 for p in plans),
        # one output from a resized length between 1 and 2 (floor(3 * 0.5) = 1, length 1.5)
        "single_output_fractional_length": any(p.size_out == 1 and p.length_resized > 1 for p in plans),
        # a resized length below 1 (floor(2 * 0.6) = 1, length 1.2 is not; 0.6 * 1 is), where
        # pytorch_half_pixel and tf_crop_and_resize take their single-output branch
        "length_below_one": any(p.length_resized < 1 for p in plans),
        "batch_or_channels_resized": any(p.axis < 2 and (p.size_out != p.size_in) for p in plans),
        # which axes keep scale 1 (layouts: NCHW resizes neither of the outer two, NHWC neither N nor C)
        "outer_two_axes_unscaled": scale_of[0] == 1.0 and scale_of[1] == 1.0,
        "outer_and_inner_axes_unscaled": scale_of[0] == 1.0 and scale_of[rank - 1] == 1.0,
        "spatial_only": all(p.axis >= 2 or (p.size_out == p.size_in and p.scale == 1.0) for p in plans),
        "exact_coordinates": all(exact_coordinates(r) for r in axes),
        # an axis of several elements whose size does not change though its scale is not 1 (2 * 1.25 = 2.5 -> 2)
        "unchanged_axis_scaled": any(p.size_out == p.size_in > 1 and float(np.float32(p.scale)) != 1.0 for p in plans),
        "output_shape_unchanged": all(p.size_out == p.size_in for p in plans),
        # scales that change no size but move the sampling points (the draw of that name)
        "scales_keep_sizes": given == "scales" and all(p.size_out == p.size_in for p in plans) and any(
            p.size_in > 1 and float(np.float32(p.scale)) != 1.0 for p in plans),
        # tf_crop_and_resize with a roi other than [0, 1] on an axis whose size does not change
        "roi_on_unscaled_axis": coordinate_mode == "tf_crop_and_resize" and any(
            p.size_out == p.size_in and (p.roi_start, p.roi_end) != (0.0, 1.0) for p in plans),
        "nearest_tie": bool(nearest_tie),
        # a float64 coordinate a few ulps above an integer (3.0000000000000004), where rounding can pick
        # the taps on the wrong side of the integer (onnx.reference does)
        "coordinate_ulps_above_integer": any(
            bool(np.any((r.coordinates > np.round(r.coordinates)) & (r.coordinates - np.round(r.coordinates) < 1e-9)))
            for r in axes),
        "extrapolates": bool(extrapolates),
        "resized_axes": len(resized),
        "max_abs_input": float(np.abs(X.astype(np.float64)).max()) if X.size else 0.0,
    }


CORNERS = (
    "mode=nearest", "mode=linear", "mode=cubic",
    *(f"coordinate_transformation_mode={m}" for m in COORDINATE_MODES),
    *(f"nearest_mode={m}" for m in NEAREST_MODES),
    "given=scales", "given=sizes",
    "keep_aspect_ratio_policy=stretch", "keep_aspect_ratio_policy=not_larger", "keep_aspect_ratio_policy=not_smaller",
    "antialias", "exclude_outside", "cubic_coeff_a=-0.5", "cubic_coeff_a=-0.75",
    "axes_given", "negative_axes", "unsorted_axes",
    "dtype=float32", "dtype=float16", "dtype=float64", "dtype=int8", "dtype=uint8",
    "rank=3", "rank=4", "rank=5",
    "downscale", "upscale", "non_integer_length", "output_size_one", "batch_or_channels_resized",
    "nearest_tie", "extrapolates", "unchanged_axis_scaled", "scales_keep_sizes",
)

DECLARATIONS = (
    OpDeclaration(
        op_type="Resize",
        summary="N-D resize: nearest, linear and cubic; every coordinate mode; scales or sizes; antialias",
        cases=resize_cases,
        tolerance=Derived(resize_bounds, "coordinate and weight perturbation + gamma_n(u) * sum|w*x| (see module)"),
        features=resize_features,
        corners=CORNERS,
    ),
)
