"""Planted-bug and benign backends for Resize (see tests/planted.py for the idea).

The planted bugs rewrite the call as a backend would misread it (align_corners where half_pixel
is asked for, the scale recomputed from the output size, cubic_coeff_a or exclude_outside or
antialias ignored, floor instead of round_prefer_floor). The benign backend is a second Resize,
written here with NumPy gathers in float32 (coordinates from the float32 scales, weights and sums
in float32), as a float32 runtime computes it.

    conformance certify Resize --backend tests.planted_resize:AlignCornersForHalfPixel
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from conformance.case import Case
from tests.planted import _Rewriting


class AlignCornersForHalfPixel(_Rewriting):
    """Resize that uses align_corners when half_pixel (the default) is asked for."""

    name = "planted-align-corners-for-half-pixel"

    def rewrite(self, inputs, attributes):
        if attributes.get("coordinate_transformation_mode", "half_pixel") == "half_pixel":
            attributes = {**attributes, "coordinate_transformation_mode": "align_corners"}
        return inputs, attributes


class AsymmetricForHalfPixel(_Rewriting):
    """Resize that uses asymmetric coordinates (TensorFlow 1's default) when half_pixel is asked for."""

    name = "planted-asymmetric-for-half-pixel"

    def rewrite(self, inputs, attributes):
        if attributes.get("coordinate_transformation_mode", "half_pixel") == "half_pixel":
            attributes = {**attributes, "coordinate_transformation_mode": "asymmetric"}
        return inputs, attributes


class ScaleFromOutputSize(_Rewriting):
    """Resize that turns the given scales into output sizes and forgets the scales themselves."""

    name = "planted-scale-from-output-size"

    def rewrite(self, inputs, attributes):
        X, roi, scales, sizes = (list(inputs) + [None] * 4)[:4]
        if scales is None or not np.size(scales):
            return inputs, attributes
        rank = X.ndim
        axes = [a % rank for a in attributes.get("axes", range(rank))]
        sizes = np.array([math.floor(X.shape[a] * float(s)) for a, s in zip(axes, scales)], dtype=np.int64)
        return [X, roi, None, sizes], attributes


class CubicCoeffIgnored(_Rewriting):
    """Cubic Resize that always uses PyTorch's a = -0.75."""

    name = "planted-cubic-coeff-ignored"

    def rewrite(self, inputs, attributes):
        return inputs, {k: v for k, v in attributes.items() if k != "cubic_coeff_a"}


class ExcludeOutsideIgnored(_Rewriting):
    """Resize that always clamps taps beyond the input to its edge."""

    name = "planted-exclude-outside-ignored"

    def rewrite(self, inputs, attributes):
        return inputs, {k: v for k, v in attributes.items() if k != "exclude_outside"}


class AntialiasIgnored(_Rewriting):
    """Resize that never stretches its filter when downscaling."""

    name = "planted-antialias-ignored"

    def rewrite(self, inputs, attributes):
        return inputs, {k: v for k, v in attributes.items() if k != "antialias"}


class FloorForRoundPreferFloor(_Rewriting):
    """Nearest Resize that truncates x_original where round_prefer_floor (the default) asks to round."""

    name = "planted-floor-for-round-prefer-floor"

    def rewrite(self, inputs, attributes):
        if attributes.get("mode", "nearest") == "nearest" and attributes.get("nearest_mode", "round_prefer_floor") == "round_prefer_floor":
            attributes = {**attributes, "nearest_mode": "floor"}
        return inputs, attributes


# -- benign: Resize in float32 ----------------------------------------------------------------------

F = np.float32


def _keys(t: np.ndarray, a: np.float32) -> np.ndarray:
    t = np.abs(t).astype(F)
    inner = ((a + F(2)) * t - (a + F(3))) * t * t + F(1)
    outer = ((a * t - F(5) * a) * t + F(8) * a) * t - F(4) * a
    return np.where(t <= 1, inner, np.where(t < 2, outer, F(0))).astype(F)


class Float32Resize:
    """Benign: Resize computed the way a float32 runtime does, one axis at a time by gathers.

    Coordinates come from the float32 scale (or out / in, rounded to float32) and weights are float32;
    the weighted sums are float32 (float64 for float64 inputs); taps beyond the input are clamped (or
    excluded), following the same conventions as the spec (length_resized = in * scale).
    """

    name = "benign-float32-resize"
    version = "benign"

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        a = dict(case.attributes)
        X = case.inputs["X"]
        roi, scales, sizes = (case.inputs.get(k) for k in ("roi", "scales", "sizes"))
        rank = X.ndim
        axes = [ax % rank for ax in a.get("axes", range(rank))]
        if scales is not None and scales.size:
            axis_scales = [F(s) for s in scales]
            outs = [math.floor(X.shape[ax] * float(s)) for ax, s in zip(axes, scales)]
        else:
            targets = [int(s) for s in sizes]
            ratios = [F(t) / F(X.shape[ax]) for t, ax in zip(targets, axes)]
            policy = a.get("keep_aspect_ratio_policy", "stretch")
            if policy == "stretch":
                axis_scales, outs = ratios, targets
            else:
                common = min(ratios) if policy == "not_larger" else max(ratios)
                axis_scales = [common] * len(axes)
                outs = [int(math.floor(float(common) * X.shape[ax] + 0.5)) for ax in axes]
        # Values in float32 (float64 for float64 inputs); coordinates and weights in float32.
        Y = X.astype(np.float64 if X.dtype == np.float64 else F) if X.dtype.kind == "f" else X
        outside = np.zeros([1] * rank, dtype=bool)
        for i, (ax, scale, out) in enumerate(zip(axes, axis_scales, outs)):
            start = F(roi[i]) if roi is not None and roi.size else F(0)
            end = F(roi[len(axes) + i]) if roi is not None and roi.size else F(1)
            Y, mask = self._axis(Y, ax, scale, out, start, end, a)
            view = [1] * rank
            view[ax] = out
            outside = outside | mask.reshape(view)
        if a.get("coordinate_transformation_mode") == "tf_crop_and_resize":
            Y = np.where(outside, Y.dtype.type(a.get("extrapolation_value", 0.0)), Y)
        return [Y.astype(X.dtype)]

    def _axis(self, Y, ax, scale, out, start, end, a):
        n = Y.shape[ax]
        x = np.arange(out, dtype=F)
        length = F(scale) * F(n)
        ctm = a.get("coordinate_transformation_mode", "half_pixel")
        half = F(0.5)
        if ctm == "half_pixel":
            c = (x + half) / scale - half
        elif ctm == "half_pixel_symmetric":
            c = F(n) / F(2) * (F(1) - F(out) / length) + (x + half) / scale - half
        elif ctm == "pytorch_half_pixel":
            c = (x + half) / scale - half if length > 1 else np.zeros_like(x)
        elif ctm == "align_corners":
            c = x * F(n - 1) / (length - F(1)) if length != 1 else np.zeros_like(x)
        elif ctm == "asymmetric":
            c = x / scale
        else:  # tf_crop_and_resize
            if length > 1:
                c = start * F(n - 1) + x * (end - start) * F(n - 1) / (length - F(1))
            else:
                c = np.full_like(x, half * (start + end) * F(n - 1))
        c = c.astype(F)
        outside = (c < 0) | (c > n - 1)
        mode = a.get("mode", "nearest")
        if mode == "nearest":
            rule = a.get("nearest_mode", "round_prefer_floor")
            index = {"round_prefer_floor": np.ceil(c - half), "round_prefer_ceil": np.floor(c + half),
                     "floor": np.floor(c), "ceil": np.ceil(c)}[rule]
            return np.take(Y, np.clip(index, 0, n - 1).astype(np.intp), axis=ax), outside
        antialias = bool(a.get("antialias", 0))
        stretch = min(F(scale), F(1)) if antialias else F(1)
        support = 1 if mode == "linear" else 2
        first = math.floor(-support / float(stretch)) + 1
        offsets = np.arange(first, 2 - first, dtype=F)
        base = np.floor(c)
        t = (offsets[None, :] - (c - base)[:, None]) * stretch
        weights = np.clip(F(1) - np.abs(t), 0, None).astype(F) if mode == "linear" else _keys(t, F(a.get("cubic_coeff_a", -0.75)))
        if antialias:
            weights = weights / weights.sum(axis=1, keepdims=True, dtype=F)
        positions = base[:, None].astype(np.int64) + offsets[None, :].astype(np.int64)
        if a.get("exclude_outside", 0):
            weights = np.where((positions >= 0) & (positions < n), weights, F(0))
            weights = weights / weights.sum(axis=1, keepdims=True, dtype=F)
        gathered = np.take(Y, np.clip(positions, 0, n - 1), axis=ax)  # (..., out, taps, ...)
        shape = [1] * Y.ndim
        shape[ax] = out
        shape.insert(ax + 1, weights.shape[1])
        return (gathered * weights.reshape(shape).astype(Y.dtype)).sum(axis=ax + 1, dtype=Y.dtype), outside
