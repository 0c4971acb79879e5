"""Elementwise arithmetic lowered to TensorFlow (``tf.math``), which broadcasts as NumPy does.

- Div: ``tf.math.divide`` for floats; ``tf.truncatediv`` for integers, since ONNX's integer Div
  truncates toward zero (``tf.math.divide`` would return floats, ``tf.math.floordiv`` floors).
- Pow: ``tf.math.pow`` wants one dtype, so an integer exponent is cast to the base's dtype first
  (exact: the exponents are small integers).
- Sum and Mean: ``tf.math.add_n`` does not broadcast, so the inputs are broadcast to their
  common shape first; Mean divides that sum by the number of inputs.
- Max and Min: ``tf.math.maximum`` / ``minimum`` folded over the inputs.
- Neg, Abs, Reciprocal, Sqrt, Exp, Log, Erf: their ``tf.math`` namesakes; Where: ``tf.where``.
"""

from __future__ import annotations

from functools import reduce

from conformance.errors import Unsupported


def _legacy_broadcast_unsupported(attributes) -> None:
    if attributes.get("broadcast") or attributes.get("axis") is not None:
        raise Unsupported("opset < 7 broadcast/axis attributes are not lowered")


def add(tf, A, B, **attributes):
    _legacy_broadcast_unsupported(attributes)
    return tf.math.add(A, B)


def sub(tf, A, B, **attributes):
    _legacy_broadcast_unsupported(attributes)
    return tf.math.subtract(A, B)


def mul(tf, A, B, **attributes):
    _legacy_broadcast_unsupported(attributes)
    return tf.math.multiply(A, B)


def div(tf, A, B, **attributes):
    _legacy_broadcast_unsupported(attributes)
    if A.dtype.is_integer:
        return tf.truncatediv(A, B)
    return tf.math.divide(A, B)


def pow(tf, X, Y, **attributes):
    _legacy_broadcast_unsupported(attributes)
    if X.dtype != Y.dtype:
        if X.dtype.is_integer and Y.dtype.is_floating:
            raise Unsupported("an integer base with a float exponent has no tf.math.pow equivalent")
        Y = tf.cast(Y, X.dtype)  # exact: integer exponents are small
    return tf.math.pow(X, Y)


def _broadcast_all(tf, inputs):
    shape = reduce(tf.broadcast_static_shape, (x.shape for x in inputs))
    return [tf.broadcast_to(x, shape) for x in inputs]


def max(tf, *data):
    return reduce(tf.math.maximum, _broadcast_all(tf, data))


def min(tf, *data):
    return reduce(tf.math.minimum, _broadcast_all(tf, data))


def sum(tf, *data):
    return tf.math.add_n(_broadcast_all(tf, data))


def mean(tf, *data):
    total = tf.math.add_n(_broadcast_all(tf, data))
    return tf.math.divide(total, tf.constant(len(data), dtype=total.dtype))


def where(tf, condition, X, Y):
    return tf.where(condition, X, Y)


LOWERINGS = {
    "Add": add, "Sub": sub, "Mul": mul, "Div": div, "Pow": pow,
    "Max": max, "Min": min, "Sum": sum, "Mean": mean,
    "Sqrt": lambda tf, X: tf.math.sqrt(X),
    "Exp": lambda tf, X: tf.math.exp(X),
    "Log": lambda tf, X: tf.math.log(X),
    "Abs": lambda tf, X: tf.math.abs(X),
    "Neg": lambda tf, X: tf.math.negative(X),
    "Reciprocal": lambda tf, X: tf.math.reciprocal(X),
    "Erf": lambda tf, X: tf.math.erf(X),
    "Where": where,
}
