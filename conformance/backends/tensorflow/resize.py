"""Resize lowered to TensorFlow, where one of TensorFlow's resize kernels computes the same thing.

TensorFlow resizes the two spatial axes of an NHWC image, with its scale taken as ``in / out``
from the output size, so a case is lowered only when it resizes H and W of a 4-D input (N and C
unchanged) and, with ``scales``, ``in * scale`` is an integer on both axes (otherwise the ONNX
scale differs from TensorFlow's). Then:

- nearest: ``ResizeNearestNeighbor`` with ``half_pixel_centers`` computes
  ``floor((x + 0.5) * in / out)``, which is ONNX's half_pixel with round_prefer_ceil; with
  ``align_corners`` it rounds ``x * (in - 1) / (out - 1)`` half away from zero (align_corners,
  round_prefer_ceil); with neither, ``floor(x * in / out)`` (asymmetric, floor).
- linear: ``ResizeBilinear`` (half_pixel_centers for half_pixel, align_corners, or neither for
  asymmetric); taps beyond the input are clamped to the edge, which for a linear kernel equals
  exclusion, so exclude_outside is free. antialias: ``tf.image.resize(antialias=True)`` (a
  scale-and-translate triangle filter over half-pixel centers).
- cubic: ``ResizeBicubic`` with half_pixel_centers uses Keys' kernel with a = -0.5 and excludes
  taps beyond the input (ONNX's half_pixel, cubic_coeff_a=-0.5, exclude_outside=1); its legacy
  modes use a = -0.75 with edge clamping (align_corners or asymmetric, exclude_outside=0).
  antialias: ``tf.image.resize(method='bicubic', antialias=True)`` (Keys a = -0.5).
- tf_crop_and_resize: ``tf.image.crop_and_resize`` with the roi as a normalized box per image
  (bilinear, or nearest with round_prefer_ceil), and extrapolation_value.

pytorch_half_pixel and half_pixel_symmetric are half_pixel where they coincide (more than one
output; ``in * scale`` an integer). TensorFlow's kernels return float32 for float16 and float64
inputs (nearest keeps the dtype); the lowering casts back to X's dtype. Anything else is
Unsupported, with the reason. The output sizes and scales are read from the Resize spec's text
(``_resized_axes``), not from the reference.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from conformance.backends.tensorflow.layout import channels_first, channels_last
from conformance.errors import Unsupported


class _Resized(NamedTuple):
    """One resized axis: its output size, ONNX's scale, ``in * scale`` (the spec's output_width) and the roi."""

    size_out: int
    scale: float
    length_resized: float
    roi_start: float
    roi_end: float


def _given(tensor) -> np.ndarray | None:
    """An optional input, None when omitted or empty (opsets 11 and 13 pass an empty scales with sizes)."""
    return None if tensor is None or int(np.size(tensor)) == 0 else np.asarray(tensor, dtype=np.float64)


def _resized_axes(shape, roi, scales, sizes, axes, keep_aspect_ratio_policy) -> dict[int, _Resized]:
    """The resized axes of a Resize node, as its spec computes them.

    ``scales``: ``out = floor(in * scale)``. ``sizes``: ``out = sizes[i]`` under "stretch"; under
    "not_larger" / "not_smaller" one scale for every axis, the min / max of ``sizes[i] / in``, and
    ``out = round_int(scale * in)`` (halves rounded up). ``roi`` is ``[starts..., ends...]`` over
    ``axes`` (every axis when absent; negative axes count from the back).
    """
    rank = len(shape)
    axes = [int(a) % rank for a in (range(rank) if axes is None else axes)]
    roi, scales, sizes = _given(roi), _given(scales), _given(sizes)
    starts = [0.0] * len(axes) if roi is None else [float(v) for v in roi[:len(axes)]]
    ends = [1.0] * len(axes) if roi is None else [float(v) for v in roi[len(axes):]]
    sizes_in = [int(shape[a]) for a in axes]
    if scales is not None:
        factors = [float(s) for s in scales]
        sizes_out = [math.floor(n * s) for n, s in zip(sizes_in, factors)]
    elif keep_aspect_ratio_policy == "stretch":
        sizes_out = [int(s) for s in sizes]
        factors = [o / n for o, n in zip(sizes_out, sizes_in)]
    else:
        ratios = [float(s) / n for s, n in zip(sizes, sizes_in)]
        common = min(ratios) if keep_aspect_ratio_policy == "not_larger" else max(ratios)
        factors = [common] * len(axes)
        sizes_out = [math.floor(common * n + 0.5) for n in sizes_in]
    return {a: _Resized(o, f, n * f, start, end)
            for a, n, o, f, start, end in zip(axes, sizes_in, sizes_out, factors, starts, ends)}


def resize(tf, X, roi=None, scales=None, sizes=None, *, antialias=0, axes=None,
           coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75, exclude_outside=0,
           extrapolation_value=0.0, keep_aspect_ratio_policy="stretch", mode="nearest",
           nearest_mode="round_prefer_floor"):
    if len(X.shape) != 4:
        raise Unsupported(f"TensorFlow resizes 4-D NHWC images, not rank {len(X.shape)}")
    by_axis = _resized_axes(list(X.shape), roi, scales, sizes, axes, keep_aspect_ratio_policy)
    for axis in (0, 1):
        if axis in by_axis and (by_axis[axis].size_out != X.shape[axis] or by_axis[axis].scale != 1.0):
            raise Unsupported("TensorFlow resizes the spatial axes only (N and C must keep scale 1)")
    spatial = [by_axis.get(a) for a in (2, 3)]
    out = [p.size_out if p else X.shape[a] for p, a in zip(spatial, (2, 3))]
    lengths_integral = all(p is None or p.length_resized == p.size_out for p in spatial)
    mode_name = coordinate_transformation_mode
    antialias = bool(antialias) and mode != "nearest"
    x = channels_last(tf, X)
    if mode_name == "tf_crop_and_resize":
        y = _crop_and_resize(tf, x, spatial, out, mode, nearest_mode, antialias, extrapolation_value, lengths_integral)
        return channels_first(tf, tf.cast(y, X.dtype))
    if not lengths_integral:
        raise Unsupported("TensorFlow takes its scale from the output size; in * scale is not an integer here")
    if mode_name == "pytorch_half_pixel":
        if min(out) == 1:
            raise Unsupported("pytorch_half_pixel samples 0 for a single output; TensorFlow's half pixel does not")
        mode_name = "half_pixel"
    if mode_name == "half_pixel_symmetric":
        mode_name = "half_pixel"  # in * scale is an integer: the symmetric offset is 0
    if mode == "nearest":
        flags = {("half_pixel", "round_prefer_ceil"): (False, True), ("align_corners", "round_prefer_ceil"): (True, False),
                 ("asymmetric", "floor"): (False, False)}.get((mode_name, nearest_mode))
        if flags is None:
            raise Unsupported(f"TensorFlow's nearest neighbour has no {mode_name} with {nearest_mode}")
        y = tf.raw_ops.ResizeNearestNeighbor(images=x, size=out, align_corners=flags[0], half_pixel_centers=flags[1])
        return channels_first(tf, y)
    if antialias:
        if mode_name != "half_pixel" or (mode == "cubic" and cubic_coeff_a != -0.5):
            raise Unsupported("TensorFlow's antialiased resize uses half-pixel centers (and a = -0.5 for cubic)")
        if not exclude_outside:
            raise Unsupported("TensorFlow's antialiased resize renormalizes over the input (exclude_outside=1)")
        y = tf.image.resize(x, out, method="bilinear" if mode == "linear" else "bicubic", antialias=True)
        return channels_first(tf, tf.cast(y, X.dtype))
    flags = {"half_pixel": (False, True), "align_corners": (True, False), "asymmetric": (False, False)}.get(mode_name)
    if flags is None:
        raise Unsupported(f"TensorFlow has no {mode_name} resize")
    if mode == "linear":
        y = tf.raw_ops.ResizeBilinear(images=x, size=out, align_corners=flags[0], half_pixel_centers=flags[1])
    else:
        expected = (-0.5, 1) if mode_name == "half_pixel" else (-0.75, 0)
        if (cubic_coeff_a, int(exclude_outside)) != expected:
            raise Unsupported(f"TensorFlow's {mode_name} bicubic uses a = {expected[0]}"
                              f" with exclude_outside={expected[1]}")
        y = tf.raw_ops.ResizeBicubic(images=x, size=out, align_corners=flags[0], half_pixel_centers=flags[1])
    return channels_first(tf, tf.cast(y, X.dtype))


def _crop_and_resize(tf, x, spatial, out, mode, nearest_mode, antialias, extrapolation_value, lengths_integral):
    if mode == "cubic" or antialias:
        raise Unsupported("tf.image.crop_and_resize is bilinear or nearest, without antialias")
    if mode == "nearest" and nearest_mode != "round_prefer_ceil":
        raise Unsupported("tf.image.crop_and_resize's nearest rounds halves up (round_prefer_ceil)")
    if not lengths_integral:
        raise Unsupported("tf.image.crop_and_resize spaces its samples by the integer crop size")
    box = [p.roi_start if p else 0.0 for p in spatial] + [p.roi_end if p else 1.0 for p in spatial]
    N = int(x.shape[0])
    boxes = tf.constant([[box[0], box[1], box[2], box[3]]] * N, dtype=tf.float32)
    return tf.image.crop_and_resize(x, boxes, tf.range(N), out, method="bilinear" if mode == "linear" else "nearest",
                                    extrapolation_value=float(extrapolation_value))


LOWERINGS = {"Resize": resize}
