"""The pooling family lowered to TensorFlow.

- MaxPool: ``tf.nn.max_pool`` (``tf.nn.pool`` with dilations, which TensorFlow allows with stride 1
  only). auto_pad SAME_UPPER becomes TensorFlow's own ``"SAME"`` (the odd pixel at the end, as in
  TF; in 3-D on Eigen, TensorFlow keeps a negative SAME total, which is ONNX's ``pad_shape_unclamped``
  reading). Explicit pads, SAME_LOWER's pads (TensorFlow has no SAME_LOWER), SAME_UPPER's with
  dilations, and the end padding a ceil-mode window reaches past, are ``-inf`` (the lowest
  integer for int8/uint8) added with ``tf.pad``, then ``"VALID"``: padding never wins a maximum.
  The Indices output comes from ``tf.nn.max_pool_with_argmax`` (2-D, NHWC, no dilations), whose
  flat NHWC index of the padded input is translated to ONNX's NCHW index of X (row- or
  column-major per storage_order).
- AveragePool: ``tf.nn.avg_pool`` (``tf.nn.pool`` with dilations). TensorFlow leaves its SAME
  padding out of the divisor, which is ONNX's count_include_pad=0 under SAME_UPPER without
  dilations. Elsewhere the input is padded with zeros (``tf.pad``) and pooled ``"VALID"``; where
  a window's divisor is not the kernel's size (padding left out of the count, or a ceil-mode window
  reaching past the end padding) the average is rescaled by the same pooling of a mask that is 1
  where a tap counts: ``avg(x) / avg(mask) = (sum / k) / (count / k) = sum / count``.
- LpPool: TensorFlow has none; it is composed as ``(k * avg_pool(|x|^p))^(1/p)`` over zero padding
  (padding counts as zero in the sum, so any ONNX padding, SAME_LOWER included, is a ``tf.pad``).
- GlobalAveragePool, GlobalMaxPool: ``tf.reduce_mean`` / ``tf.reduce_max`` over the spatial axes.

The padding arithmetic is ONNX's, derived again from the spec text in ``geometry`` (not the
reference's): a mistake in either shows as a disagreement. TensorFlow's 3-D pooling kernels take
float32 only (float16 has no CPU kernel, float64 none at all): a 3-D MaxPool of float16, int8 or
uint8 runs in float32 (exact both ways), the other 3-D cases are Unsupported.
"""

from __future__ import annotations

import numpy as np

from conformance.backends.tensorflow.geometry import pool_windows
from conformance.backends.tensorflow.layout import channels_first, channels_last
from conformance.errors import Unsupported

EXACT_IN_FLOAT32 = ("float16", "int8", "uint8")  # every value is a float32, so a cast there and back is exact


def _check_rank(X, dtype_name: str) -> int:
    rank = len(X.shape) - 2
    if rank not in (1, 2, 3):
        raise Unsupported(f"TensorFlow pools over 1 to 3 spatial axes, not {rank}")
    if rank == 3 and dtype_name != "float32":
        raise Unsupported(f"TensorFlow's 3-D pooling kernels have no CPU {dtype_name} kernel")
    return rank


def _geometry(X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode):
    """ONNX's windows: kernel, strides, dilations, begin pads, end pads, overhang, output (see ``geometry``)."""
    rank = len(X.shape) - 2
    kernel = [int(k) for k in kernel_shape]
    strides = [int(s) for s in strides or [1] * rank]
    dilations = [int(d) for d in dilations or [1] * rank]
    begins, ends, overhang, output = pool_windows(list(X.shape[2:]), kernel, strides, dilations, auto_pad, pads,
                                                  ceil_mode)
    return kernel, strides, dilations, begins, ends, overhang, output


def _pool(tf, x, kernel, strides, dilations, padding: str, pooling: str):
    """tf.nn.max_pool/avg_pool, or tf.nn.pool where dilations are needed.

    tf.nn.pool takes dilations at stride 1 only: a strided dilated pooling keeps every s-th
    window of the stride-1 result (with VALID padding, window i of stride s is window i*s of
    stride 1).
    """
    if max(dilations) > 1:
        if padding != "VALID":
            raise Unsupported("TensorFlow has no SAME padding for pooling with dilations > 1")
        y = tf.nn.pool(x, kernel, pooling, strides=[1] * len(kernel), padding=padding, dilations=dilations)
        return y[(slice(None), *(slice(None, None, s) for s in strides), slice(None))]
    function = tf.nn.max_pool if pooling == "MAX" else tf.nn.avg_pool
    return function(x, ksize=kernel, strides=strides, padding=padding)


def _lowest(dtype_name: str) -> float | int:
    """What max pooling pads with: -inf, or the lowest value of an integer dtype."""
    return int(np.iinfo(dtype_name).min) if dtype_name.startswith(("int", "uint")) else -np.inf


def max_pool(tf, X, *, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None,
             storage_order=0, strides=None, output_count=1):
    if output_count > 1:
        return max_pool_with_indices(tf, X, auto_pad=auto_pad, ceil_mode=ceil_mode, dilations=dilations,
                                     kernel_shape=kernel_shape, pads=pads, storage_order=storage_order, strides=strides)
    dtype_name = X.dtype.name
    if len(X.shape) == 5 and dtype_name in EXACT_IN_FLOAT32:
        # TensorFlow's 3-D pooling kernels take float32 only. These dtypes go to float32 and back
        # exactly, and a maximum selects an element without rounding: the result is the same.
        y = max_pool(tf, tf.cast(X, tf.float32), auto_pad=auto_pad, ceil_mode=ceil_mode, dilations=dilations,
                     kernel_shape=kernel_shape, pads=pads, strides=strides)
        return tf.cast(y, X.dtype)
    _check_rank(X, dtype_name)
    kernel, strides, dilations, begins, ends, overhang, output = _geometry(
        X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode)
    x = channels_last(tf, X)
    # TensorFlow's own SAME where it has one (no dilations); ONNX's SAME_UPPER pads otherwise.
    padding = "SAME" if auto_pad == "SAME_UPPER" and max(dilations) == 1 else "VALID"
    if padding == "VALID" and (any(begins) or any(ends) or any(overhang)):
        x = tf.pad(x, [[0, 0], *zip(begins, [e + h for e, h in zip(ends, overhang)]), [0, 0]],
                   constant_values=_lowest(dtype_name))
    return channels_first(tf, _pool(tf, x, kernel, strides, dilations, padding, "MAX"))


def max_pool_with_indices(tf, X, *, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None,
                          pads=None, storage_order=0, strides=None):
    """(Y, Indices) through tf.nn.max_pool_with_argmax, on 1-D (as 2-D of height 1) and 2-D inputs."""
    rank = len(X.shape) - 2
    if rank not in (1, 2):
        raise Unsupported("tf.nn.max_pool_with_argmax pools over 2 spatial axes only (1-D goes through 2-D)")
    kernel, strides, dilations, begins, ends, overhang, output = _geometry(
        X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode)
    if max(dilations) > 1:
        raise Unsupported("tf.nn.max_pool_with_argmax has no dilations")
    N, C, *spatial = X.shape
    if rank == 1:  # a 1-D pooling is a 2-D one over a height of 1
        X = tf.reshape(X, [N, C, 1, spatial[0]])
        kernel, strides = [1, *kernel], [1, *strides]
        begins, ends, overhang = [0, *begins], [0, *ends], [0, *overhang]
    x = channels_last(tf, X)
    padding = "SAME" if auto_pad == "SAME_UPPER" else "VALID"
    if padding == "SAME":
        # TensorFlow pads SAME itself; its argmax then indexes the unpadded input.
        begins, ends = [0, 0], [0, 0]
    elif any(begins) or any(ends) or any(overhang):
        x = tf.pad(x, [[0, 0], *zip(begins, [e + h for e, h in zip(ends, overhang)]), [0, 0]],
                   constant_values=_lowest(X.dtype.name))
    y, argmax = tf.nn.max_pool_with_argmax(x, ksize=[1, *kernel, 1], strides=[1, *strides, 1], padding=padding,
                                           include_batch_in_index=True)
    # TensorFlow's index is ((b * height + row) * width + column) * C + c in the (padded) NHWC input.
    height, width = int(x.shape[1]), int(x.shape[2])
    c = argmax % C
    column = (argmax // C) % width - begins[1]
    row = (argmax // (C * width)) % height - begins[0]
    b = argmax // (C * width * height)
    H, W = (1, spatial[0]) if rank == 1 else spatial
    offset = row * W + column if storage_order == 0 or rank == 1 else row + column * H
    indices = (b * C + c) * (H * W) + offset
    y, indices = channels_first(tf, y), channels_first(tf, indices)
    if rank == 1:
        y, indices = tf.reshape(y, [N, C, output[0]]), tf.reshape(indices, [N, C, output[0]])
    return [y, indices]


def average_pool(tf, X, *, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, dilations=None, kernel_shape=None,
                 pads=None, strides=None):
    _check_rank(X, X.dtype.name)
    kernel, strides, dilations, begins, ends, overhang, output = _geometry(
        X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode)
    x = channels_last(tf, X)
    padded = any(begins) or any(ends)
    if padded and not count_include_pad and auto_pad == "SAME_UPPER" and max(dilations) == 1:
        # TensorFlow's own SAME: its pads are SAME_UPPER's, and it leaves them out of the divisor.
        return channels_first(tf, _pool(tf, x, kernel, strides, dilations, "SAME", "AVG"))
    widths = [[0, 0], *zip(begins, [e + h for e, h in zip(ends, overhang)]), [0, 0]]
    y = _pool(tf, tf.pad(x, widths), kernel, strides, dilations, "VALID", "AVG")
    if any(overhang) or (padded and not count_include_pad):
        # avg_pool divided every window's sum by k; the mask's average is (taps that count) / k.
        # The mask is 1 on the input, 1 or 0 on the pads (count_include_pad), 0 on the overhang.
        shape = [1, *X.shape[2:], 1]
        counted = tf.pad(tf.ones(shape, x.dtype), [[0, 0], *zip(begins, ends), [0, 0]],
                         constant_values=1 if count_include_pad else 0)
        mask = tf.pad(counted, [[0, 0], *((0, h) for h in overhang), [0, 0]])
        y = y / _pool(tf, mask, kernel, strides, dilations, "VALID", "AVG")
    return channels_first(tf, y)


def lp_pool(tf, X, *, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, p=2, pads=None,
            strides=None):
    _check_rank(X, X.dtype.name)
    kernel, strides, dilations, begins, ends, overhang, output = _geometry(
        X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode)
    # tf.constant, not tf.cast: a Python float through tf.cast is rounded to float32 first.
    x = tf.pow(tf.abs(channels_last(tf, X)), tf.constant(p, X.dtype))
    if any(begins) or any(ends) or any(overhang):
        x = tf.pad(x, [[0, 0], *zip(begins, [e + h for e, h in zip(ends, overhang)]), [0, 0]])
    total = _pool(tf, x, kernel, strides, dilations, "VALID", "AVG") * tf.constant(int(np.prod(kernel)), X.dtype)
    return channels_first(tf, tf.pow(total, tf.constant(1.0 / p, X.dtype)))


def global_average_pool(tf, X):
    return tf.reduce_mean(X, axis=list(range(2, len(X.shape))), keepdims=True)


def global_max_pool(tf, X):
    return tf.reduce_max(X, axis=list(range(2, len(X.shape))), keepdims=True)


LOWERINGS = {
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "LpPool": lp_pool,
    "GlobalAveragePool": global_average_pool,
    "GlobalMaxPool": global_max_pool,
}
