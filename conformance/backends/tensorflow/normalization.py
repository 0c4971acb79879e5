"""The normalization family lowered to TensorFlow.

- BatchNormalization: ``tf.compat.v1.nn.fused_batch_norm`` (the kernel behind Keras's
  BatchNormalization) on channels-last 4-D/5-D views, in float16 and float32, inference and training
  (``exponential_avg_factor = 1 - momentum`` gives ONNX's running statistics); float64 and opset 7's
  per-activation statistics (``spatial=0``), which the fused kernel cannot take, use ``tf.nn.moments``
  and ``tf.nn.batch_normalization``.
- LRN: ``tf.nn.local_response_normalization`` on an NHWC view with ``depth_radius = (size - 1) / 2``
  and ``alpha / size``: TensorFlow's window is symmetric, so even sizes are Unsupported, and its
  kernel has no float64.
- LayerNormalization, InstanceNormalization, GroupNormalization, MeanVarianceNormalization and
  RMSNormalization: ``tf.nn.moments`` (two-pass) and ``tf.nn.batch_normalization`` or ``tf.math.rsqrt``,
  in float32 where the stash type says so.
- LpNormalization: ``tf.math.l2_normalize`` for p = 2, a division by ``reduce_sum(abs)`` for p = 1.

The statistics, reductions and arithmetic are TensorFlow's; what this module does is the layout
(NCHW at the border) and the attribute mapping. Float attributes are 32-bit in ONNX, defaults
included: they are read as float32 values (epsilon 1e-5 is 9.99999974737875e-06).
"""

from __future__ import annotations

from conformance.backends.tensorflow.attributes import float32_attribute
from conformance.backends.tensorflow.layout import permuted
from conformance.errors import Unsupported

FUSED_DTYPES = ("float16", "float32")
# MeanVarianceNormalization's function body adds ``Epsilon = Constant <value: tensor = float {1e-09}>``
# to the standard deviation (onnx.defs.get_schema("MeanVarianceNormalization").function_body).
MVN_EPSILON = float32_attribute(1e-9)


def _channels_last_4d(tf, X):
    """An (N, 1, D, C) view of an (N, C, D1, ..., Dk) tensor (D = D1 * ... * Dk), and the way back."""
    shape = X.shape
    x = tf.reshape(X, [shape[0], shape[1], -1])
    x = tf.expand_dims(permuted(tf, x, [0, 2, 1]), 1)

    def back(y):
        return tf.reshape(permuted(tf, tf.squeeze(y, 1), [0, 2, 1]), shape)

    return x, back


def batch_normalization(tf, X, scale, B, input_mean, input_var, *, epsilon=1e-5, momentum=0.9, training_mode=0,
                        spatial=1, is_test=0, consumed_inputs=None, opset=15, output_count=1):
    training = _is_training(opset, training_mode, is_test, output_count)
    epsilon, momentum = float32_attribute(epsilon), float32_attribute(momentum)
    one_dimensional = len(X.shape) == 1
    if one_dimensional:
        X = tf.reshape(X, [-1, 1])
    if X.dtype.name in FUSED_DTYPES and spatial:
        results = _fused_batch_norm(tf, X, scale, B, input_mean, input_var, epsilon, momentum, training)
    else:
        results = _composite_batch_norm(tf, X, scale, B, input_mean, input_var, epsilon, momentum, training, spatial)
    Y, *statistics = results
    if one_dimensional:
        Y = tf.reshape(Y, [-1])
    if not training:
        return [Y]
    statistics = [tf.cast(s, input_mean.dtype) for s in statistics]
    if opset >= 14:
        return [Y, *statistics]
    return [Y, *statistics, *_saved_statistics(tf, X, spatial)]


def _is_training(opset: int, training_mode: int, is_test: int, output_count: int) -> bool:
    """Whether BatchNormalization trains, per its schemas: the training_mode attribute from opset 14;
    opsets 7 to 13 say it by their outputs (Y only in inference; Y, mean, var, saved_mean, saved_var
    in training); opsets 1 and 6 by is_test (default 0: training)."""
    if opset >= 14:
        return bool(training_mode)
    if opset >= 7:
        return output_count > 1
    return not is_test


def _fused_batch_norm(tf, X, scale, B, mean, var, epsilon, momentum, training):
    x, back = _channels_last_4d(tf, X)
    scale, B, mean, var = (tf.cast(a, tf.float32) for a in (scale, B, mean, var))
    if training:
        y, running_mean, running_var = tf.compat.v1.nn.fused_batch_norm(
            x, scale, B, mean, var, epsilon=epsilon, is_training=True, exponential_avg_factor=1 - momentum)
        return back(y), running_mean, running_var
    y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, scale, B, mean, var, epsilon=epsilon, is_training=False)
    return (back(y),)


def _composite_batch_norm(tf, X, scale, B, mean, var, epsilon, momentum, training, spatial):
    rank = len(X.shape)
    shape = [X.shape[1]] + [1] * (rank - 2) if spatial else list(X.shape[1:])
    dtype = X.dtype
    scale, B, mean, var = (tf.reshape(tf.cast(a, dtype), shape) for a in (scale, B, mean, var))
    if not training:
        return (tf.nn.batch_normalization(X, mean, var, B, scale, epsilon),)
    axes = [0, *range(2, rank)] if spatial else [0]
    batch_mean, batch_var = tf.nn.moments(X, axes, keepdims=True)
    Y = tf.nn.batch_normalization(X, batch_mean, batch_var, B, scale, epsilon)
    batch_mean, batch_var = (tf.reshape(s, shape) for s in (batch_mean, batch_var))
    running_mean = mean * momentum + batch_mean * (1 - momentum)
    running_var = var * momentum + batch_var * (1 - momentum)
    flat = [X.shape[1]] if spatial else list(X.shape[1:])
    return Y, tf.reshape(running_mean, flat), tf.reshape(running_var, flat)


def _saved_statistics(tf, X, spatial):
    rank = len(X.shape)
    axes = [0, *range(2, rank)] if spatial else [0]
    return list(tf.nn.moments(X, axes))


def lrn(tf, X, *, size, alpha=1e-4, beta=0.75, bias=1.0):
    if size % 2 == 0:
        raise Unsupported(f"TensorFlow's LRN window is symmetric (depth_radius on each side); size {size} is even")
    if X.dtype.name == "float64":
        raise Unsupported("TensorFlow's LRN kernel is registered for half, bfloat16 and float32 only")
    alpha, beta, bias = (float32_attribute(v) for v in (alpha, beta, bias))
    x, back = _channels_last_4d(tf, X)
    y = tf.nn.local_response_normalization(x, depth_radius=(size - 1) // 2, bias=bias, alpha=alpha / size, beta=beta)
    return back(y)


def _normalize(tf, x, axes, epsilon, keepdims=True):
    mean, variance = tf.nn.moments(x, axes, keepdims=keepdims)
    inv_std = tf.math.rsqrt(variance + tf.cast(float32_attribute(epsilon), x.dtype))
    return (x - mean) * inv_std, mean, inv_std


def _stash(tf, X, stash_type):
    if stash_type != 1:
        raise Unsupported(f"stash_type {stash_type} (only float, 1, is lowered)")
    return tf.cast(X, tf.float32)


def layer_normalization(tf, X, Scale, B=None, *, axis=-1, epsilon=1e-5, stash_type=1):
    rank = len(X.shape)
    axes = list(range(axis % rank, rank))
    normalized, mean, inv_std = _normalize(tf, _stash(tf, X, stash_type), axes, epsilon)
    Y = tf.cast(normalized, X.dtype) * Scale
    if B is not None:
        Y = Y + B
    return [Y, mean, inv_std]


def instance_normalization(tf, input, scale, B, *, epsilon=1e-5, consumed_inputs=None):
    rank = len(input.shape)
    shape = [input.shape[1]] + [1] * (rank - 2)
    mean, variance = tf.nn.moments(input, list(range(2, rank)), keepdims=True)
    return tf.nn.batch_normalization(input, mean, variance, tf.reshape(B, shape), tf.reshape(scale, shape),
                                     float32_attribute(epsilon))


def group_normalization(tf, X, scale, bias, *, num_groups, epsilon=1e-5, stash_type=1, opset=21):
    N, C = X.shape[0], X.shape[1]
    x = _stash(tf, X, stash_type) if opset >= 21 else X
    grouped = tf.reshape(x, [N, num_groups, -1])
    normalized, _, _ = _normalize(tf, grouped, [2], epsilon)
    normalized = tf.cast(tf.reshape(normalized, X.shape), X.dtype)
    if opset < 21:  # one scale and bias per group: channel c takes group c // (C / num_groups)
        scale, bias = (tf.repeat(a, C // num_groups) for a in (scale, bias))
    shape = [C] + [1] * (len(X.shape) - 2)
    return normalized * tf.reshape(scale, shape) + tf.reshape(bias, shape)


def mean_variance_normalization(tf, X, *, axes=(0, 2, 3)):
    rank = len(X.shape)
    # The 1e-9 added to the standard deviation is zero in half precision: float16 runs in float32.
    x = tf.cast(X, tf.float32) if X.dtype == tf.float16 else X
    mean, variance = tf.nn.moments(x, [a % rank for a in axes], keepdims=True)
    return tf.cast((x - mean) / (tf.sqrt(variance) + tf.cast(MVN_EPSILON, x.dtype)), X.dtype)


def lp_normalization(tf, input, *, axis=-1, p=2):
    if p == 2:
        return tf.math.l2_normalize(input, axis=axis)
    return tf.math.divide_no_nan(input, tf.reduce_sum(tf.abs(input), axis=axis, keepdims=True))


def rms_normalization(tf, X, scale, *, axis=-1, epsilon=1e-5, stash_type=1):
    rank = len(X.shape)
    x = _stash(tf, X, stash_type)
    mean_square = tf.reduce_mean(tf.square(x), axis=list(range(axis % rank, rank)), keepdims=True)
    normalized = x * tf.math.rsqrt(mean_square + float32_attribute(epsilon))
    return tf.cast(normalized, X.dtype) * scale


LOWERINGS = {
    "BatchNormalization": batch_normalization,
    "LRN": lrn,
    "LayerNormalization": layer_normalization,
    "InstanceNormalization": instance_normalization,
    "GroupNormalization": group_normalization,
    "MeanVarianceNormalization": mean_variance_normalization,
    "LpNormalization": lp_normalization,
    "RMSNormalization": rms_normalization,
}
