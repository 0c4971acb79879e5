"""The Reduce* operators lowered to TensorFlow's ``tf.math.reduce_*`` kernels.

ONNX and TensorFlow read an empty list of axes differently: for ONNX it means every axis (or,
with noop_with_empty_axes=1, none), for TensorFlow's ``axis=[]`` none. The lowering passes
``axis=None`` for ONNX's "every axis", and for the no-op applies the composite step itself
(``|x|`` for ReduceL1/L2, ``x**2`` for ReduceSumSquare). ``keepdims`` is 1 unless given.
Booleans reduce with ``reduce_any`` (max) and ``reduce_all`` (min); ReduceL2 uses
``reduce_euclidean_norm`` and ReduceLogSumExp ``reduce_logsumexp``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def _listed_axes(axes: Any) -> list[int] | None:
    """The axes from the attribute (a list) or the input (an int64 tensor); None when absent."""
    if axes is None:
        return None
    return [int(a) for a in np.asarray(axes).reshape(-1)]


def _lowering(reduce: Callable, composite: Callable | None = None) -> Callable:
    """A lowering that resolves ONNX's axes and applies ``reduce(tf, data, axis, keepdims)``."""

    def lowering(tf, data, axes=None, *, keepdims=1, noop_with_empty_axes=0):
        listed = _listed_axes(axes)
        if not listed:
            if noop_with_empty_axes:
                return composite(tf, data) if composite is not None else tf.identity(data)
            listed = None  # every axis: TensorFlow's axis=None (its axis=[] reduces nothing)
        return reduce(tf, data, listed, bool(keepdims))

    return lowering


def _is_bool(data) -> bool:
    return data.dtype.is_bool


def _max(tf, data, axis, keepdims):
    reduce = tf.math.reduce_any if _is_bool(data) else tf.math.reduce_max
    return reduce(data, axis=axis, keepdims=keepdims)


def _min(tf, data, axis, keepdims):
    reduce = tf.math.reduce_all if _is_bool(data) else tf.math.reduce_min
    return reduce(data, axis=axis, keepdims=keepdims)


LOWERINGS = {
    "ReduceSum": _lowering(lambda tf, x, a, k: tf.math.reduce_sum(x, axis=a, keepdims=k)),
    "ReduceMean": _lowering(lambda tf, x, a, k: tf.math.reduce_mean(x, axis=a, keepdims=k)),
    "ReduceMax": _lowering(_max),
    "ReduceMin": _lowering(_min),
    "ReduceProd": _lowering(lambda tf, x, a, k: tf.math.reduce_prod(x, axis=a, keepdims=k)),
    "ReduceL1": _lowering(lambda tf, x, a, k: tf.math.reduce_sum(tf.math.abs(x), axis=a, keepdims=k),
                          lambda tf, x: tf.math.abs(x)),
    "ReduceL2": _lowering(lambda tf, x, a, k: tf.math.reduce_euclidean_norm(x, axis=a, keepdims=k),
                          lambda tf, x: tf.math.abs(x)),
    "ReduceLogSumExp": _lowering(lambda tf, x, a, k: tf.math.reduce_logsumexp(x, axis=a, keepdims=k)),
    "ReduceSumSquare": _lowering(lambda tf, x, a, k: tf.math.reduce_sum(tf.math.square(x), axis=a, keepdims=k),
                                 lambda tf, x: tf.math.square(x)),
}
