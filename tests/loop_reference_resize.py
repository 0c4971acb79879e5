"""Resize written a second time, straight from the ONNX text, one output position and one tap at a time.

An independent oracle for ``reference.resize`` (which builds interpolation matrices): along each
resized axis in turn, each output position's coordinate, taps and weights are computed from the
formulas of the operator text, and the output slice is the weighted sum of input slices. It imports
nothing from ``reference``. https://onnx.ai/onnx/operators/onnx__Resize.html

It computes in the precision of the numbers given (``tests.loop_numbers``): with Python floats for
float arrays, in mpmath's working precision when X, scales or roi is an object array of mpf (the
exact oracle). Then X, the scales, the roi, the ratios of sizes and every coordinate and weight are
mpf, and rounding a coordinate to a tap is exact.
"""

from __future__ import annotations

import numpy as np

from tests.loop_numbers import ceil, floor, number_like, numbers_like, zeros


def _keys(t: float, a: float) -> float:
    t = abs(t)
    if t <= 1:
        return (a + 2) * t**3 - (a + 3) * t**2 + 1
    if t < 2:
        return a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return 0.0


def _coordinate(x: int, n: int, out: int, scale: float, mode: str, start: float, end: float,
                reading: str = "pytorch_half_pixel_fractional_length") -> float:
    length = n * scale  # length_resized, as ONNX's test data reads it
    if mode == "pytorch_half_pixel" and reading == "pytorch_half_pixel_integer_length":
        length = out  # "the length of the resized tensor"
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        return n / 2 * (1 - out / length) + (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if length > 1 else 0.0
    if mode == "align_corners":
        return x * (n - 1) / (length - 1) if length != 1 else 0.0
    if mode == "asymmetric":
        return x / scale
    if mode == "tf_crop_and_resize":
        if length > 1:
            return start * (n - 1) + x * (end - start) * (n - 1) / (length - 1)
        return 0.5 * (start + end) * (n - 1)
    raise ValueError(mode)


def _taps(c: float, n: int, scale: float, attributes: dict) -> list[tuple[int, float]]:
    """(position, weight) pairs, positions clamped into [0, n) unless excluded."""
    mode = attributes.get("mode", "nearest")
    if mode == "nearest":
        rule = attributes.get("nearest_mode", "round_prefer_floor")
        if rule == "round_prefer_floor":
            index = ceil(c - 0.5)
        elif rule == "round_prefer_ceil":
            index = floor(c + 0.5)
        elif rule == "floor":
            index = floor(c)
        else:
            index = ceil(c)
        return [(min(max(index, 0), n - 1), 1.0)]
    antialias = bool(attributes.get("antialias", 0))
    stretch = min(scale, 1.0) if antialias else 1.0
    a = number_like(attributes.get("cubic_coeff_a", -0.75), c)  # in c's kind: a + 2, 5 * a exact
    support = 1 if mode == "linear" else 2
    taps = []
    for j in range(floor(c - support / stretch), ceil(c + support / stretch) + 1):
        t = (j - c) * stretch
        w = max(0.0, 1 - abs(t)) if mode == "linear" else _keys(t, a)
        if w != 0:
            taps.append((j, w))
    if antialias:
        total = sum(w for _, w in taps)
        taps = [(j, w / total) for j, w in taps]
    if attributes.get("exclude_outside", 0):
        taps = [(j, w) for j, w in taps if 0 <= j < n]
        total = sum(w for _, w in taps)
        taps = [(j, w / total) for j, w in taps]
    return [(min(max(j, 0), n - 1), w) for j, w in taps]


def resize_by_loops(X, roi=None, scales=None, sizes=None, *, reading="pytorch_half_pixel_fractional_length",
                    **attributes) -> np.ndarray:
    X = numbers_like(X, roi, scales)  # exact scales or roi make an integer X exact too
    rank = X.ndim
    axes = [a % rank for a in attributes.get("axes", range(rank))]
    roi = None if roi is None or not np.size(roi) else [number_like(v, X) for v in roi]
    if scales is not None and np.size(scales):
        axis_scales = [number_like(s, X) for s in scales]
        outs = [floor(X.shape[a] * s) for a, s in zip(axes, axis_scales)]
    else:
        targets = [int(s) for s in sizes]
        ratios = [number_like(t, X) / X.shape[a] for t, a in zip(targets, axes)]
        policy = attributes.get("keep_aspect_ratio_policy", "stretch")
        if policy == "stretch":
            axis_scales, outs = ratios, targets
        else:
            common = min(ratios) if policy == "not_larger" else max(ratios)
            axis_scales = [common] * len(axes)
            outs = [floor(common * X.shape[a] + 0.5) for a in axes]
    ctm = attributes.get("coordinate_transformation_mode", "half_pixel")
    Y, extrapolated = X, np.zeros([1] * rank, dtype=bool)
    for i, (axis, scale, out) in enumerate(zip(axes, axis_scales, outs)):
        n = Y.shape[axis]
        start, end = (roi[i], roi[len(axes) + i]) if roi else (number_like(0, X), number_like(1, X))
        shape = list(Y.shape)
        shape[axis] = out
        result = zeros(shape, like=X)
        outside = np.zeros(out, dtype=bool)
        for x in range(out):
            # in X's kind even where the formula gives a constant (0 for a single output)
            c = number_like(_coordinate(x, n, out, scale, ctm, start, end, reading), X)
            outside[x] = ctm == "tf_crop_and_resize" and not 0 <= c <= n - 1
            for j, w in _taps(c, n, scale, attributes):
                result[(slice(None),) * axis + (x,)] += w * Y[(slice(None),) * axis + (j,)]
        Y = result
        view = [1] * rank
        view[axis] = out
        extrapolated = extrapolated | outside.reshape(view)
    if ctm == "tf_crop_and_resize":
        Y = np.where(extrapolated, number_like(attributes.get("extrapolation_value", 0.0), X), Y)
    return Y
