"""Scalar arithmetic for the loop references, in the precision of the numbers they are given.

The loop references (``tests/loop_*.py``) compute one element at a time, straight from the ONNX
text. Given Python floats they compute in float64: a cross-check of the vectorized reference's
meaning. Given ``mpmath.mpf`` numbers (``tests/exact_oracle.py`` converts a case's inputs) they
compute in mpmath's working precision, and so become the exact oracle that the error bounds are
tested against. So every helper here keeps its arguments' kind: ``math`` for floats, ``mpmath``
for mpf. A loop reference must reach ``math``'s transcendental functions only through here, or an
mpf would silently be rounded to a float (``tests/test_exact_oracle.py`` checks the sources).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import mpmath
import numpy as np


def _exact(*values: Any) -> bool:
    return any(isinstance(v, mpmath.mpf) for v in values)


def number(value: Any) -> Any:
    """A scalar as the loops compute with it: an mpf stays one, anything else becomes a float."""
    return value if isinstance(value, mpmath.mpf) else float(value)


def numbers(array: Any) -> np.ndarray:
    """An array as the loops compute with it: an object array (of mpf) stays, the rest is float64."""
    array = np.asarray(array)
    return array if array.dtype == object else array.astype(np.float64)


def numbers_like(array: Any, *likes: Any) -> np.ndarray:
    """``numbers(array)``, made an object array of mpf when any of ``likes`` (numbers or arrays;
    ``None`` skipped) is exact: integer data that meets exact parameters, such as Resize's scales."""
    array = numbers(array)
    if array.dtype == object or not any(like is not None and np.asarray(like).dtype == object for like in likes):
        return array
    exact = np.empty(array.shape, dtype=object)
    for index, value in np.ndenumerate(array):
        exact[index] = mpmath.mpf(value)
    return exact


def zeros(shape: Iterable[int], like: Any) -> np.ndarray:
    """Zeros of ``like``'s kind: an object array of mpf zeros, or float64 zeros."""
    if np.asarray(like).dtype != object:
        return np.zeros(tuple(shape))
    out = np.empty(tuple(shape), dtype=object)
    out.fill(mpmath.mpf(0))
    return out


def _same_kind(float_function: Callable, exact_function: Callable) -> Callable:
    def function(*arguments):
        return (exact_function if _exact(*arguments) else float_function)(*arguments)

    function.__name__ = float_function.__name__
    function.__doc__ = f"``{float_function.__name__}`` in its argument's precision (math or mpmath)."
    return function


exp = _same_kind(math.exp, mpmath.exp)
expm1 = _same_kind(math.expm1, mpmath.expm1)
log = _same_kind(math.log, mpmath.log)
log1p = _same_kind(math.log1p, mpmath.log1p)
sqrt = _same_kind(math.sqrt, mpmath.sqrt)
tanh = _same_kind(math.tanh, mpmath.tanh)
erfc = _same_kind(math.erfc, mpmath.erfc)
erf = _same_kind(math.erf, mpmath.erf)


def fsum(values: Iterable[Any]) -> Any:
    """A correctly rounded sum: ``math.fsum`` for floats, ``mpmath.fsum`` when any term is an mpf."""
    values = list(values)
    return mpmath.fsum(values) if _exact(*values) else math.fsum(values)


def pi(like: Any) -> Any:
    """π in the precision of ``like``."""
    return +mpmath.pi if _exact(like) else math.pi


def number_like(value: Any, like: Any) -> Any:
    """An exact constant (``2``, ``0.5``) in the kind of ``like``: an mpf, or a float.

    ``like`` is a number or an array (an object array holds mpf numbers, even when it is empty).
    ``value`` may also be a number read from an input (float32 included): a float's value is exact
    in mpf."""
    return mpmath.mpf(number(value)) if np.asarray(like).dtype == object else float(value)


def floor(value: Any) -> int:
    """The largest integer <= ``value``, exactly (``math.floor`` would round an mpf to a float first)."""
    return int(mpmath.floor(value)) if _exact(value) else math.floor(value)


def ceil(value: Any) -> int:
    """The smallest integer >= ``value``, exactly (``math.ceil`` would round an mpf to a float first)."""
    return int(mpmath.ceil(value)) if _exact(value) else math.ceil(value)
