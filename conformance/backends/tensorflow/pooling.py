"""The pooling family lowered to TensorFlow.

- MaxPool: ``tf.nn.max_pool`` (``tf.nn.pool`` with dilations, which TensorFlow allows with stride 1
  only). auto_pad SAME_UPPER becomes TensorFlow's own ``"SAME"`` (the odd pixel at the end, as in
  TF); SAME_LOWER has no equivalent and is Unsupported. Explicit pads, and the end padding a
  ceil-mode window reaches past, are ``-inf`` (the lowest integer for int8/uint8) added with
  ``tf.pad``, then ``"VALID"``: padding never wins a maximum. The Indices output comes from
  ``tf.nn.max_pool_with_argmax`` (2-D, NHWC, no dilations), whose flat NHWC index of the padded
  input is translated to ONNX's NCHW index of X (row- or column-major per storage_order).
- AveragePool: ``tf.nn.avg_pool`` (``tf.nn.pool`` with dilations). TensorFlow leaves SAME padding
  out of the divisor, which is ONNX's count_include_pad=0 when the pads are TensorFlow's SAME pads;
  with count_include_pad=1, explicit zeros (``tf.pad``) and ``"VALID"``. Other cases (padding left
  out of the count that is not SAME's, ceil-mode windows that overhang the padding, whose divisor
  TensorFlow cannot express) are Unsupported.
- LpPool: TensorFlow has none; it is composed as ``(k * avg_pool(|x|^p))^(1/p)`` over zero padding
  (padding counts as zero in the sum, so any ONNX padding, SAME_LOWER included, is a ``tf.pad``).
- GlobalAveragePool, GlobalMaxPool: ``tf.reduce_mean`` / ``tf.reduce_max`` over the spatial axes.

The padding arithmetic is ONNX's, shared with the reference (``reference.pooling.pool_geometry``):
what is certified is TensorFlow's kernels, not a re-derivation of the geometry. TensorFlow's 3-D
pooling kernels take float32 only (float16 has no CPU kernel, float64 none at all): Unsupported.
"""

from __future__ import annotations

import numpy as np

from conformance.backends.tensorflow.conv import channels_first, channels_last
from conformance.errors import Unsupported
from reference.pooling import pool_geometry
from reference.windows import effective_kernel, window_pads


def _check_rank(X, dtype_name: str) -> int:
    rank = len(X.shape) - 2
    if rank not in (1, 2, 3):
        raise Unsupported(f"TensorFlow pools over 1 to 3 spatial axes, not {rank}")
    if rank == 3 and dtype_name != "float32":
        raise Unsupported(f"TensorFlow's 3-D pooling kernels have no CPU {dtype_name} kernel")
    return rank


def _geometry(X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode):
    """ONNX's windows: kernel, strides, dilations, begin pads, end pads (overhang included), output."""
    kernel, strides, dilations, begins, ends, output = pool_geometry(
        list(X.shape[2:]), kernel_shape, strides, dilations, auto_pad, pads, ceil_mode)
    reach = [(o - 1) * s + effective_kernel(k, d) for o, s, k, d in zip(output, strides, kernel, dilations)]
    overhang = [max(0, r - (n + b + e)) for r, n, b, e in zip(reach, X.shape[2:], begins, ends)]
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
    _check_rank(X, dtype_name)
    if auto_pad == "SAME_LOWER":
        raise Unsupported("TensorFlow's SAME padding puts the odd pixel at the end; it has no SAME_LOWER")
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
    if auto_pad == "SAME_LOWER":
        raise Unsupported("TensorFlow's SAME padding puts the odd pixel at the end; it has no SAME_LOWER")
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
    if auto_pad == "SAME_LOWER":
        raise Unsupported("TensorFlow's SAME padding puts the odd pixel at the end; it has no SAME_LOWER")
    kernel, strides, dilations, begins, ends, overhang, output = _geometry(
        X, kernel_shape, strides, dilations, auto_pad, pads, ceil_mode)
    if any(overhang):
        raise Unsupported("a ceil-mode window overhangs the padding; TensorFlow cannot divide by its partial count")
    padded = any(begins) or any(ends)
    same_begins, same_ends = window_pads(list(X.shape[2:]), kernel, strides, dilations, "SAME_UPPER", None)
    x = channels_last(tf, X)
    if not padded:
        padding = "VALID"
    elif not count_include_pad and (begins, ends) == (same_begins, same_ends) and max(dilations) == 1:
        padding = "SAME"  # TensorFlow leaves its SAME padding out of the divisor
    elif count_include_pad:
        x = tf.pad(x, [[0, 0], *zip(begins, ends), [0, 0]])
        padding = "VALID"
    else:
        raise Unsupported("TensorFlow leaves padding out of an average only as its own SAME padding")
    return channels_first(tf, _pool(tf, x, kernel, strides, dilations, padding, "AVG"))


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
