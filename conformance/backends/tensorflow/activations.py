"""Activations and the softmax family lowered to TensorFlow, as a TensorFlow or Keras user computes them.

- One ``tf.nn`` / ``tf.math`` kernel where TensorFlow has the operator: relu, leaky_relu, elu,
  selu, sigmoid, tanh, softplus, softsign, gelu, softmax, log_softmax.
- Keras's own formulas where TensorFlow has no kernel: PReLU (``relu(x) - slope * relu(-x)``),
  ELU with alpha != 1 (``where(x > 0, elu(x), alpha * elu(x))``), hard_sigmoid (``clip(alpha * x +
  beta, 0, 1)``), hard_swish (``x * relu6(x + 3) / 6``), mish (``x * tanh(softplus(x))``),
  ThresholdedReLU (``x * cast(x > alpha)``); Celu from ``tf.math.expm1`` as the spec writes it.
- ``tf.nn.selu`` hard-codes its constants in float64; it is used when they round to the same
  T values as the attributes (the defaults, in float16 and float32), and ``gamma * where(x > 0, x,
  alpha * elu(x))`` otherwise.
- Clip: ``tf.clip_by_value`` when both bounds are given and min <= max (its documented domain),
  ``tf.maximum`` / ``tf.minimum`` otherwise.
- Softmax, LogSoftmax and Hardmax (``one_hot(argmax)``) work along one axis; before opset 13 the
  input is first reshaped to ONNX's 2-D coercion around the axis (the default axis is 1 before
  opset 13 and -1 from opset 13, as the schemas say).

Attribute defaults are the ONNX schemas' (``onnx.defs.get_schema(op).attributes``), written here as
keyword defaults and read as float32 (``attributes``), not taken from the reference.
"""

from __future__ import annotations

import numpy as np

from conformance.backends.tensorflow.attributes import float32_attribute

# tf.nn.selu's hard-coded (float64) constants: https://www.tensorflow.org/api_docs/python/tf/nn/selu
TF_SELU_ALPHA = 1.6732632423543772848170429916717
TF_SELU_SCALE = 1.0507009873554804934193349852946


def _constant(tf, value, like):
    return tf.constant(value, dtype=like.dtype)


def relu(tf, X):
    return tf.nn.relu(X)


def leaky_relu(tf, X, *, alpha=0.01):
    return tf.nn.leaky_relu(X, alpha=float32_attribute(alpha))


def prelu(tf, X, slope, *, opset):
    # From opset 7 the slope broadcasts unidirectionally to X, which TensorFlow's broadcasting does;
    # before, a 1-D slope of several values holds one per channel (axis 1).
    if opset < 7 and len(slope.shape) == 1 and slope.shape[0] > 1 and len(X.shape) >= 2:
        slope = tf.reshape(slope, [1, -1] + [1] * (len(X.shape) - 2))
    return tf.nn.relu(X) - slope * tf.nn.relu(-X)


def elu(tf, X, *, alpha=1.0):
    alpha = float32_attribute(alpha)
    y = tf.nn.elu(X)
    return y if alpha == 1 else tf.where(X > 0, y, _constant(tf, alpha, X) * y)


def selu(tf, X, *, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    alpha, gamma = float32_attribute(alpha), float32_attribute(gamma)
    dtype = X.dtype.as_numpy_dtype

    def same(a, b):
        return np.asarray(a).astype(dtype) == np.asarray(b).astype(dtype)

    if same(alpha, TF_SELU_ALPHA) and same(gamma, TF_SELU_SCALE):
        return tf.nn.selu(X)
    return _constant(tf, gamma, X) * tf.where(X > 0, X, _constant(tf, alpha, X) * tf.nn.elu(X))


def celu(tf, X, *, alpha=1.0):
    alpha = _constant(tf, float32_attribute(alpha), X)
    zero = tf.zeros_like(X)
    return tf.maximum(zero, X) + tf.minimum(zero, alpha * tf.math.expm1(X / alpha))


def sigmoid(tf, X):
    return tf.math.sigmoid(X)


def hard_sigmoid(tf, X, *, alpha=0.2, beta=0.5):
    alpha, beta = float32_attribute(alpha), float32_attribute(beta)
    return tf.clip_by_value(_constant(tf, alpha, X) * X + _constant(tf, beta, X), 0, 1)


def hard_swish(tf, X):
    return X * tf.nn.relu6(X + 3) / 6


def tanh(tf, input):  # noqa: A002 - ONNX's name
    return tf.math.tanh(input)


def softplus(tf, X):
    return tf.math.softplus(X)


def softsign(tf, input):  # noqa: A002 - ONNX's name
    return tf.nn.softsign(input)


def gelu(tf, X, *, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"Gelu's approximate must be 'none' or 'tanh', not {approximate!r}")
    return tf.nn.gelu(X, approximate=approximate == "tanh")


def mish(tf, X):
    return X * tf.math.tanh(tf.math.softplus(X))


def thresholded_relu(tf, X, *, alpha=1.0):
    return X * tf.cast(X > _constant(tf, float32_attribute(alpha), X), X.dtype)


def clip(tf, input, min=None, max=None, *, opset):  # noqa: A002 - ONNX's names
    # Before opset 11, min and max are float attributes; from opset 11 they are scalar tensors.
    low = None if min is None else tf.cast(min, input.dtype) if opset >= 11 else _constant(tf, min, input)
    high = None if max is None else tf.cast(max, input.dtype) if opset >= 11 else _constant(tf, max, input)
    if low is not None and high is not None and bool(low <= high):
        return tf.clip_by_value(input, low, high)
    if low is not None:
        input = tf.maximum(input, low)
    if high is not None:
        input = tf.minimum(input, high)
    return input


def _along_axis(tf, X, axis, opset, apply):
    """``apply(x, axis)`` on one axis, or on the last axis of ONNX's 2-D coercion before opset 13."""
    rank = len(X.shape)
    if axis is None:
        axis = 1 if opset < 13 else -1
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for an input of rank {rank} (accepted: [{-rank}, {rank - 1}])")
    axis %= rank
    if opset >= 13:
        return apply(X, axis)
    shape = X.shape
    rows = tf.reshape(X, [int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))])
    return tf.reshape(apply(rows, 1), shape)


def softmax(tf, input, *, axis=None, opset):  # noqa: A002 - ONNX's name
    return _along_axis(tf, input, axis, opset, lambda x, a: tf.nn.softmax(x, axis=a))


def log_softmax(tf, input, *, axis=None, opset):  # noqa: A002 - ONNX's name
    return _along_axis(tf, input, axis, opset, lambda x, a: tf.nn.log_softmax(x, axis=a))


def hardmax(tf, input, *, axis=None, opset):  # noqa: A002 - ONNX's name
    def one_hot(x, a):
        return tf.one_hot(tf.argmax(x, axis=a), depth=x.shape[a], axis=a, dtype=x.dtype)

    return _along_axis(tf, input, axis, opset, one_hot)


LOWERINGS = {
    "Relu": relu,
    "LeakyRelu": leaky_relu,
    "PRelu": prelu,
    "Elu": elu,
    "Selu": selu,
    "Celu": celu,
    "Sigmoid": sigmoid,
    "HardSigmoid": hard_sigmoid,
    "HardSwish": hard_swish,
    "Tanh": tanh,
    "Softplus": softplus,
    "Softsign": softsign,
    "Gelu": gelu,
    "Mish": mish,
    "ThresholdedRelu": thresholded_relu,
    "Clip": clip,
    "Softmax": softmax,
    "LogSoftmax": log_softmax,
    "Hardmax": hardmax,
}
