"""Elementwise arithmetic lowered to TensorFlow (``tf.math``), which broadcasts as NumPy does.

- Add, Sub, Mul, Div before opset 7: B broadcasts onto A only with ``broadcast=1``, its axes
  aligned with A's from ``axis`` (``legacy_aligned`` reshapes B so that trailing alignment puts
  them there), else B must have A's shape.
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


def legacy_aligned(tf, A, B, broadcast: int = 0, axis: int | None = None, consumed_inputs=None):
    """B as the binary operators before opset 7 broadcast it onto A (Add-6: "The starting of the
    mutually equal shape is specified by the argument axis, and if it is not set, suffix matching
    is assumed"): with ``broadcast`` and ``axis``, B's axes are placed at A's axes ``axis`` to
    ``axis + rank(B) - 1`` by appending size-1 axes, after which TensorFlow's broadcasting (trailing
    axes aligned) does the rest. Without ``broadcast``, the shapes must be equal."""
    if not broadcast:
        if A.shape != B.shape:
            raise ValueError(f"Add/Sub/Mul/Div before opset 7: B of shape {B.shape} differs from A's {A.shape}"
                             " and broadcast is not set")
        return B
    if axis is None or B.shape.rank == 0:
        return B
    rank = A.shape.rank
    start = axis + rank if axis < 0 else axis
    if not 0 <= start <= rank - B.shape.rank:
        raise ValueError(f"B of shape {B.shape} does not fit A of shape {A.shape} from axis {axis}")
    return tf.reshape(B, B.shape.as_list() + [1] * (rank - start - B.shape.rank))


def _operands(tf, A, B, attributes: dict, opset: int):
    return (A, legacy_aligned(tf, A, B, **attributes)) if opset < 7 else (A, B)


def add(tf, A, B, opset: int, **attributes):
    return tf.math.add(*_operands(tf, A, B, attributes, opset))


def sub(tf, A, B, opset: int, **attributes):
    return tf.math.subtract(*_operands(tf, A, B, attributes, opset))


def mul(tf, A, B, opset: int, **attributes):
    return tf.math.multiply(*_operands(tf, A, B, attributes, opset))


def div(tf, A, B, opset: int, **attributes):
    A, B = _operands(tf, A, B, attributes, opset)
    if A.dtype.is_integer:
        return tf.truncatediv(A, B)  # ONNX's integer Div truncates at every opset that takes integers
    return tf.math.divide(A, B)


def pow(tf, X, Y, **attributes):
    if attributes.get("broadcast") or attributes.get("axis") is not None:
        raise Unsupported("Pow-1's broadcast/axis attributes are not lowered")
    if X.dtype != Y.dtype:
        if X.dtype.is_integer and Y.dtype.is_floating:
            raise Unsupported("an integer base with a float exponent has no tf.math.pow equivalent")
        Y = tf.cast(Y, X.dtype)  # exact: integer exponents are small
    return tf.math.pow(X, Y)


def _broadcast_all(tf, inputs):
    shape = reduce(tf.broadcast_static_shape, (tf.TensorShape(x.shape) for x in inputs))  # arrays too
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
