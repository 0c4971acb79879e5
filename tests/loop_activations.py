"""The activations and the softmax family written a second time, one element at a time.

An independent oracle for the vectorized reference (``reference.activations``): each operator
straight from its ONNX text, per element, with its own axis, coercion and broadcasting
arithmetic. It imports nothing from ``reference``. It computes in the precision of the numbers it
is given (``tests.loop_numbers``): Python floats, or mpmath numbers for the exact oracle. Where
the text's formula cancels or overflows in float64 (exp(x) - 1, log(exp(x) + 1), 1 + erf), the
same quantity is computed with ``expm1``, ``log1p``, ``erfc``: the oracle checks meaning, not
rounding. Slow by design: keep inputs small.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from tests.loop_numbers import (
    erfc,
    exp,
    expm1,
    fsum,
    log1p,
    number,
    number_like,
    numbers,
    pi,
    sqrt,
    tanh,
)

DEFAULTS = {  # the float32 values of the schemas' float defaults
    "LeakyRelu": {"alpha": float(np.float32(0.01))},
    "Elu": {"alpha": 1.0},
    "Selu": {"alpha": float(np.float32(1.67326319217681884765625)),
             "gamma": float(np.float32(1.05070102214813232421875))},
    "Celu": {"alpha": 1.0},
    "HardSigmoid": {"alpha": float(np.float32(0.2)), "beta": 0.5},
    "ThresholdedRelu": {"alpha": 1.0},
}


def _exp(v: float) -> float:
    return exp(v) if v < 709 or not isinstance(v, float) else math.inf  # math.exp raises past 709


def _sigmoid(v: float) -> float:
    return 1 / (1 + _exp(-v)) if v >= 0 else _exp(v) / (1 + _exp(v))


def _softplus(v: float) -> float:
    return v + log1p(_exp(-v)) if v > 0 else log1p(_exp(v))


def _elementwise(op_type: str, v: float, a: dict[str, Any]) -> float:
    if op_type == "Relu":
        return max(0.0, v)
    if op_type == "LeakyRelu":
        return a["alpha"] * v if v < 0 else v
    if op_type == "Elu":
        return a["alpha"] * expm1(v) if v < 0 else v
    if op_type == "Selu":
        return a["gamma"] * (a["alpha"] * expm1(v) if v <= 0 else v)
    if op_type == "Celu":
        negative = a["alpha"] * expm1(v / a["alpha"]) if v / a["alpha"] < 709 else math.inf
        return max(0.0, v) + min(0.0, negative)
    if op_type == "Sigmoid":
        return _sigmoid(v)
    if op_type == "HardSigmoid":
        return max(0.0, min(1.0, a["alpha"] * v + a["beta"]))
    if op_type == "HardSwish":
        return v * max(0.0, min(1.0, v / 6 + 0.5))
    if op_type == "Tanh":
        return tanh(v)
    if op_type == "Softplus":
        return _softplus(v)
    if op_type == "Softsign":
        return v / (1 + abs(v))
    if op_type == "Gelu":
        if a.get("approximate", "none") == "tanh":
            t = sqrt(2 / pi(v)) * (v + 0.044715 * v**3) if abs(v) < 1e100 else math.copysign(math.inf, v)
            return v * _sigmoid(2 * t)  # 0.5 (1 + tanh t) = sigmoid(2t)
        return 0.5 * v * erfc(-v / sqrt(number_like(2, v)))
    if op_type == "Mish":
        return v * tanh(_softplus(v))
    if op_type == "ThresholdedRelu":
        return v if v > a["alpha"] else 0.0
    raise KeyError(op_type)


def elementwise_by_loops(op_type: str, X: np.ndarray, **attributes: Any) -> np.ndarray:
    """A one-input elementwise operator, one element at a time."""
    a = {**DEFAULTS.get(op_type, {}), **attributes}
    X = numbers(X)
    flat = [_elementwise(op_type, number(v), a) for v in X.ravel()]
    return np.array(flat, dtype=X.dtype).reshape(X.shape)


def prelu_by_loops(X: np.ndarray, slope: np.ndarray, opset: int = 16) -> np.ndarray:
    """slope * x for x < 0. Opset >= 7: the slope's axes align with X's last axes, size-1 axes repeat;
    before: a 1-D slope of C values holds one per channel (X's axis 1)."""
    X, slope = np.asarray(X), np.asarray(slope)
    Y = np.empty(X.shape, dtype=numbers(X).dtype)
    per_channel = opset < 7 and slope.ndim == 1 and slope.size > 1
    for index in itertools.product(*(range(n) for n in X.shape)):
        if per_channel:
            s = slope[index[1]]
        else:
            trailing = index[len(index) - slope.ndim:] if slope.ndim else ()
            s = slope[tuple(i if n > 1 else 0 for i, n in zip(trailing, slope.shape))]
        v = number(X[index])
        Y[index] = number(s) * v if v < 0 else v
    return Y


def clip_by_loops(X: np.ndarray, low=None, high=None) -> np.ndarray:
    """Min(max, Max(x, min)), an absent bound not limiting."""
    out = []
    for v in np.asarray(X).ravel().tolist():
        if low is not None:
            v = max(v, low)
        if high is not None:
            v = min(v, high)
        out.append(v)
    return np.array(out).reshape(np.shape(X))


def _row_groups(shape: tuple[int, ...], axis: int | None, opset: int) -> list[list[tuple[int, ...]]]:
    """The index groups normalized together: opset < 13 coerces X to 2-D [prod(shape[:axis]),
    prod(shape[axis:])] (default axis 1); opset >= 13 takes each line along one axis (default -1)."""
    rank = len(shape)
    axis = (1 if opset < 13 else -1) if axis is None else axis
    if axis < 0:
        axis += rank
    groups: dict[tuple, list] = {}
    for index in itertools.product(*(range(n) for n in shape)):
        key = index[:axis] if opset < 13 else index[:axis] + index[axis + 1:]
        groups.setdefault(key, []).append(index)
    return list(groups.values())


def softmax_family_by_loops(op_type: str, X: np.ndarray, axis: int | None = None, opset: int = 13) -> np.ndarray:
    """Softmax, LogSoftmax or Hardmax, one group of elements at a time, sums with fsum."""
    X = numbers(X)
    Y = np.empty(X.shape, dtype=X.dtype)
    for group in _row_groups(X.shape, axis, opset):
        values = [number(X[i]) for i in group]
        top = max(values)
        if op_type == "Hardmax":
            first = values.index(top)
            for k, i in enumerate(group):
                Y[i] = 1.0 if k == first else 0.0
            continue
        total = fsum(exp(v - top) for v in values)
        # log(total) as log1p of the terms besides one maximum's 1, so that it stays exact near 0.
        first = values.index(top)
        log_total = log1p(fsum(exp(v - top) for k, v in enumerate(values) if k != first))
        for v, i in zip(values, group):
            Y[i] = exp(v - top) / total if op_type == "Softmax" else (v - top) - log_total
    return Y


def by_loops(op_type: str, inputs: list, attributes: dict[str, Any], opset: int) -> np.ndarray:
    """Any operator of the family, from a case's inputs, attributes and opset."""
    if op_type in ("Softmax", "LogSoftmax", "Hardmax"):
        return softmax_family_by_loops(op_type, inputs[0], attributes.get("axis"), opset)
    if op_type == "PRelu":
        return prelu_by_loops(inputs[0], inputs[1], opset)
    if op_type == "Clip":
        if opset < 11:
            return clip_by_loops(inputs[0], attributes.get("min"), attributes.get("max"))
        bounds = (list(inputs[1:]) + [None, None])[:2]
        return clip_by_loops(inputs[0], *(None if b is None else np.asarray(b).item() for b in bounds))
    return elementwise_by_loops(op_type, inputs[0], **attributes)
