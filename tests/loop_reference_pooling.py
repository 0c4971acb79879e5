"""The pooling operators written a second time, with loops, straight from the ONNX text.

An independent oracle for the vectorized reference (``reference.pooling``): one output element
and one kernel tap at a time, in the precision of the numbers given (``tests.loop_numbers``: float64,
or mpmath for the exact oracle), the geometry recomputed from the operator text. It
imports nothing from ``reference``. Slow by design: keep inputs small.

- https://onnx.ai/onnx/operators/onnx__MaxPool.html
- https://onnx.ai/onnx/operators/onnx__AveragePool.html
- https://onnx.ai/onnx/operators/onnx__LpPool.html
"""

from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np

from tests.loop_numbers import number, number_like, zeros

Ints = Sequence[int]


def _axis(size: int, k: int, s: int, d: int, auto_pad: str, begin: int, end: int, ceil_mode: int,
          reading: str = "pad_shape_clamped"):
    """Begin pad, end pad and output extent of one axis, from the operator text, under a reading of
    its pad_shape (which goes negative when a stride exceeds the dilated kernel)."""
    extent = (k - 1) * d + 1
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = math.ceil(size / s)  # "output_spatial_shape[i] = ceil(input_spatial_shape[i] / strides[i])"
        total = (out - 1) * s + extent - size  # pad_shape, as the formula gives it
        if reading == "pad_shape_clamped":
            total = max(0, total)  # padding is never negative
        if reading == "pad_shape_unclamped":  # C's integer division truncates towards zero
            begin = int(total / 2) if auto_pad == "SAME_UPPER" else int((total + 1) / 2)
        else:  # Python's floor division, as onnx.reference splits (the same for a total >= 0)
            begin = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
        return begin, total - begin, out
    if auto_pad == "VALID":
        return 0, 0, (size - extent) // s + 1  # floor((in - eff) / s) + 1
    value = (size + begin + end - extent) / s + 1
    if not ceil_mode:
        return begin, end, math.floor(value)
    out = math.ceil(value)
    if (out - 1) * s >= size + begin:  # "windows that would start in the right padded region are ignored"
        out -= 1
    return begin, end, out


def _geometry(X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode, reading="pad_shape_clamped"):
    rank = X.ndim - 2
    strides = list(strides or [1] * rank)
    dilations = list(dilations or [1] * rank)
    pads = list(pads or [0] * 2 * rank)
    axes = [_axis(n, k, s, d, auto_pad, pads[i], pads[rank + i], ceil_mode, reading)
            for i, (n, k, s, d) in enumerate(zip(X.shape[2:], kernel_shape, strides, dilations))]
    return strides, dilations, [a[0] for a in axes], [a[1] for a in axes], [a[2] for a in axes]


def _window(X, n, c, o, kernel_shape, strides, dilations, begins, ends):
    """The (position, value, inside the padded input) of every tap of one window."""
    taps = []
    for k in itertools.product(*map(range, kernel_shape)):
        position = [oi * s + ki * d - b for oi, ki, s, d, b in zip(o, k, strides, dilations, begins)]
        inside = all(0 <= p < size for p, size in zip(position, X.shape[2:]))
        in_padded = all(-b <= p < size + e for p, size, b, e in zip(position, X.shape[2:], begins, ends))
        taps.append((position, number(X[(n, c, *position)]) if inside else None, in_padded))
    return taps


def max_pool_by_loops(X, *, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None,
                      storage_order=0, strides=None, reading="pad_shape_clamped"):
    """(Y, Indices): the first largest element of each window in row-major tap order, padding ignored."""
    X = np.asarray(X)
    strides, dilations, begins, ends, output = _geometry(X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode, reading)
    N, C, *spatial = X.shape
    Y = zeros((N, C, *output), like=X)
    I = np.zeros((N, C, *output), dtype=np.int64)
    for n, c, o in itertools.product(range(N), range(C), itertools.product(*map(range, output))):
        best, where = -math.inf, None
        for position, value, _ in _window(X, n, c, o, kernel_shape, strides, dilations, begins, ends):
            if value is not None and value > best:
                best, where = value, position
        Y[(n, c, *o)] = best
        if storage_order == 0:
            offset = int(np.ravel_multi_index(where, spatial))
        else:  # column-major: the first spatial axis varies fastest
            offset = sum(p * int(np.prod(spatial[:i])) for i, p in enumerate(where))
        I[(n, c, *o)] = (n * C + c) * int(np.prod(spatial)) + offset
    return Y, I


def average_pool_by_loops(X, *, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, dilations=None,
                          kernel_shape=None, pads=None, strides=None, reading="pad_shape_clamped"):
    """Each window's sum over the input, divided by its taps in the input (or in the padded input)."""
    X = np.asarray(X)
    strides, dilations, begins, ends, output = _geometry(X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode, reading)
    N, C = X.shape[:2]
    Y = zeros((N, C, *output), like=X)
    for n, c, o in itertools.product(range(N), range(C), itertools.product(*map(range, output))):
        taps = _window(X, n, c, o, kernel_shape, strides, dilations, begins, ends)
        total = sum(v for _, v, _ in taps if v is not None)
        count = sum(padded for _, _, padded in taps) if count_include_pad else sum(v is not None for _, v, _ in taps)
        Y[(n, c, *o)] = total / count
    return Y


def lp_pool_by_loops(X, *, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, p=2, pads=None,
                     strides=None, reading="pad_shape_clamped"):
    """Each window's (sum |x|^p)^(1/p) over the input elements it covers."""
    X = np.asarray(X)
    strides, dilations, begins, ends, output = _geometry(X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode, reading)
    N, C = X.shape[:2]
    Y = zeros((N, C, *output), like=X)
    for n, c, o in itertools.product(range(N), range(C), itertools.product(*map(range, output))):
        taps = _window(X, n, c, o, kernel_shape, strides, dilations, begins, ends)
        total = sum(abs(v) ** p for _, v, _ in taps if v is not None)
        Y[(n, c, *o)] = total ** (number_like(1, total) / p)
    return Y


BY_LOOPS = {"MaxPool": max_pool_by_loops, "AveragePool": average_pool_by_loops, "LpPool": lp_pool_by_loops}
