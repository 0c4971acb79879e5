"""The exact oracle: every operator's result in 60-digit arithmetic, rounded once to its dtype.

The error bounds (``conformance/tolerance.py``) promise that a correct backend agrees, and the
most correct backend there is returns the exact result rounded once to the output dtype. This
module is that backend (``ExactlyRounded``), for ``tests/test_exact_oracle.py``, which certifies
it on every operator in float16, float32 and float64: a bound that forgets the reference's own
float64 rounding, or half an ulp of the output's, fails there.

How it is exact:
- A case's floating-point inputs become NumPy object arrays of ``mpmath.mpf``. Every float16, 32
  or 64 value is a binary fraction that mpmath holds exactly.
- The loop references (``tests/loop_*.py``, written from the ONNX text one element at a time,
  independently of ``reference/``) then compute in mpmath at 60 significant digits: sums and
  products to within 1e-60 of their exact value, and sqrt, exp, log, tanh, erfc... as mpmath
  evaluates them, correct to the working precision.
- The operators that have no loop reference are written here: elementwise arithmetic,
  Gemm, MatMul, Gather, Dropout and the global pools. Where an operand is zero, infinite or NaN,
  IEEE float64 arithmetic gives the exact answer (0, ±inf, NaN, 1) with the sign of zero, which
  mpmath does not keep, so those elements take float64's.
- ``round_once`` rounds to nearest, ties to even, in the output's own format, subnormals and
  overflow included, with no float64 step in between.

A 60-digit result rounds like the exact one unless the exact value lies within 1e-60 of a
rounding boundary, which no drawn case can tell apart.
"""

from __future__ import annotations

import math
from functools import reduce
from typing import Any, Callable

import mpmath
import numpy as np
import onnx

import reference.activations
import reference.conv
import reference.normalization
import reference.pooling
import reference.reductions
import reference.resize
import reference.shape
from conformance.case import Case
from tests import (
    loop_activations,
    loop_normalization,
    loop_reference,
    loop_reference_pooling,
    loop_tensor,
)
from tests.loop_reference_resize import resize_by_loops

DIGITS = 60

# Significand bits (with the implicit one) and the exponent of the smallest normal number.
_FORMATS = {np.dtype(np.float16): (11, -14), np.dtype(np.float32): (24, -126), np.dtype(np.float64): (53, -1022)}


def exactly(array: np.ndarray | None) -> np.ndarray | None:
    """A floating-point array as an object array of mpf (exact); any other array unchanged."""
    if array is None or array.dtype.kind != "f":
        return array
    out = np.empty(array.shape, dtype=object)
    for index, value in np.ndenumerate(array):
        out[index] = mpmath.mpf(float(value))
    return out


def round_once(value: Any, dtype: np.dtype) -> Any:
    """``value`` (an mpf or a float) rounded to nearest, ties to even, straight into ``dtype``."""
    dtype = np.dtype(dtype)
    if not isinstance(value, mpmath.mpf):
        value = mpmath.mpf(float(value)) if math.isfinite(float(value)) and float(value) != 0 else value
    if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value) or value == 0:
        return dtype.type(float(value))  # zeros keep their sign; inf and NaN convert exactly
    precision, smallest_normal_exponent = _FORMATS[dtype]
    _, exponent = mpmath.frexp(value)  # |value| in [2**(exponent - 1), 2**exponent)
    # The spacing of dtype's numbers around value: 2**(1 - precision) of its binade, or of the
    # smallest normal binade for subnormals.
    quantum = max(exponent - 1, smallest_normal_exponent) - (precision - 1)
    with mpmath.workprec(max(mpmath.mp.prec, precision + 64)):
        rounded = mpmath.nint(mpmath.ldexp(value, -quantum))  # nint rounds ties to even
        result = float(mpmath.ldexp(rounded, quantum))  # exact, or inf past float64's range
    with np.errstate(over="ignore"):
        return dtype.type(result)  # exact, or inf past dtype's range


def rounded(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Every element of an oracle output rounded once to ``dtype`` (integers and booleans converted)."""
    dtype = np.dtype(dtype)
    array = np.asarray(array)
    if dtype.kind != "f":
        return array.astype(dtype)
    out = np.empty(array.shape, dtype=dtype)
    for index, value in np.ndenumerate(array):
        out[index] = round_once(value, dtype)
    return out


# -- the operators without a loop reference ----------------------------------------------------


def _elementwise(exact: Callable, ieee: Callable) -> Callable[..., np.ndarray]:
    """An elementwise operator over broadcast operands: ``exact`` on mpf operands when every one is
    finite and nonzero, else ``ieee`` on the float64 values (whose answer is then exact)."""

    def scalar(*values):
        floats = [float(v) for v in values]
        if all(math.isfinite(v) and v != 0 for v in floats):
            return exact(*(mpmath.mpf(v) for v in floats))
        with np.errstate(all="ignore"):
            return float(ieee(*(np.float64(v) for v in floats)))

    ufunc = np.frompyfunc(scalar, ieee.__code__.co_argcount if hasattr(ieee, "__code__") else ieee.nin, 1)
    return lambda *operands: np.asarray(ufunc(*operands), dtype=object)


def _real_or_nan(function: Callable) -> Callable:
    """mpmath answers sqrt(-1), log(-1) and (-2) ** 0.5 with complex numbers; ONNX's floats, with NaN."""

    def real(*values):
        value = function(*values)
        return value if isinstance(value, mpmath.mpf) else mpmath.mpf("nan")

    return real


_ADD = _elementwise(lambda a, b: a + b, np.add)
_SUB = _elementwise(lambda a, b: a - b, np.subtract)
_MUL = _elementwise(lambda a, b: a * b, np.multiply)
_DIV = _elementwise(lambda a, b: a / b, np.divide)
_POW = _elementwise(_real_or_nan(lambda a, b: a ** b), np.power)
_UNARY = {
    "Sqrt": _elementwise(_real_or_nan(mpmath.sqrt), np.sqrt),
    "Exp": _elementwise(mpmath.exp, np.exp),
    "Log": _elementwise(_real_or_nan(mpmath.log), np.log),
    "Reciprocal": _elementwise(lambda a: 1 / a, np.reciprocal),
    "Erf": _elementwise(mpmath.erf, lambda x: math.erf(x)),
}
_BINARY = {"Add": _ADD, "Sub": _SUB, "Mul": _MUL, "Div": _DIV, "Pow": _POW}
_SELECTING = {  # no arithmetic: float64 is exact
    "Abs": np.abs, "Neg": np.negative,
    "Max": lambda *xs: reduce(np.maximum, xs), "Min": lambda *xs: reduce(np.minimum, xs),
}


def _aligned(A: np.ndarray, B: np.ndarray, attributes: dict, opset: int) -> np.ndarray:
    """B as opsets 1 to 6 broadcast it onto A: its axes aligned with A's from ``axis``."""
    axis = attributes.get("axis")
    if opset >= 7 or not attributes.get("broadcast") or axis is None or B.ndim == 0:
        return B
    axis %= A.ndim
    return B.reshape(B.shape + (1,) * (A.ndim - axis - B.ndim))


def _elementwise_operator(op_type: str, inputs: list, attributes: dict, opset: int) -> tuple:
    if op_type in _BINARY:
        A, B = inputs
        return (_BINARY[op_type](A, _aligned(A, B, attributes, opset)),)
    if op_type in _UNARY:
        return (_UNARY[op_type](inputs[0]),)
    if op_type in _SELECTING:
        return (_SELECTING[op_type](*(x.astype(np.float64) for x in inputs)),)
    if op_type in ("Sum", "Mean"):
        total = reduce(_ADD, inputs)
        return (total if op_type == "Sum" else _DIV(total, np.full(np.shape(total), float(len(inputs)))),)
    if op_type == "Where":
        condition, X, Y = inputs
        return (np.where(condition, X.astype(np.float64), Y.astype(np.float64)),)
    raise KeyError(op_type)


def _dense_operator(op_type: str, inputs: list, attributes: dict, opset: int) -> tuple:
    # Object arrays of mpf: np.matmul's sums of products (batch axes broadcast) are exact.
    if op_type == "MatMul":
        return (np.matmul(*inputs),)
    if op_type == "Gemm":
        A, B, C = (list(inputs) + [None])[:3]
        A = A.T if attributes.get("transA", 0) else A
        B = B.T if attributes.get("transB", 0) else B
        Y = np.matmul(A, B) * mpmath.mpf(float(attributes.get("alpha", 1.0)))
        if C is not None:
            Y = Y + mpmath.mpf(float(attributes.get("beta", 1.0))) * C
        return (Y,)
    if op_type == "Gather":
        data, indices = inputs
        return (np.take(data, indices.astype(np.int64), axis=attributes.get("axis", 0)),)
    if op_type == "Dropout":
        data, ratio, training = (list(inputs) + [None, None])[:3]
        if opset < 12:  # ratio an attribute; before opset 7, training unless is_test
            ratio, training = attributes.get("ratio", 0.5), opset < 7 and not attributes.get("is_test", 0)
        ratio = mpmath.mpf(0.5) if ratio is None else mpmath.mpf(np.asarray(ratio).item())
        if training is None or not bool(np.asarray(training)) or ratio == 0:
            return data, np.ones(data.shape, dtype=bool)
        # The mask is random by specification (judged by its distribution); this one is ONNX's
        # test generator's, uniform(0, 1) >= ratio with seed 0 unless the node has one.
        mask = np.random.RandomState(attributes.get("seed", 0)).uniform(0.0, 1.0, data.shape) >= ratio
        return data * mask / (1 - ratio), mask
    raise KeyError(op_type)


def _global_pool(op_type: str, inputs: list, attributes: dict, opset: int) -> tuple:
    X = inputs[0]
    spatial = tuple(range(2, X.ndim))
    if op_type == "GlobalMaxPool":
        return (X.max(axis=spatial, keepdims=True),)
    return (X.sum(axis=spatial, keepdims=True) / int(np.prod(X.shape[2:])),)


# -- the loop references, called as their self-tests call them ----------------------------------


def _with_extras(function: Callable, opset: int, output_count: int) -> dict:
    wanted = {"opset": opset, "output_count": output_count}
    return {k: v for k, v in wanted.items() if k in function.__code__.co_varnames}


def _looped(op_type: str, inputs: list, attributes: dict, opset: int, output_count: int) -> tuple:
    if op_type in reference.activations.OPERATORS:
        return loop_activations.by_loops(op_type, inputs, attributes, opset)
    if op_type in reference.normalization.OPERATORS:
        function = loop_normalization.BY_LOOPS[op_type]
        return function(*inputs, **attributes, **_with_extras(function, opset, output_count))
    if op_type in reference.conv.OPERATORS:
        return loop_reference.BY_LOOPS[op_type](*inputs, **attributes)
    if op_type in loop_reference_pooling.BY_LOOPS:
        return loop_reference_pooling.BY_LOOPS[op_type](inputs[0], **attributes)
    if op_type in reference.pooling.OPERATORS:
        return _global_pool(op_type, inputs, attributes, opset)
    if op_type in reference.resize.OPERATORS:
        return resize_by_loops(*inputs, **attributes)
    if op_type in reference.reductions.OPERATORS:
        return loop_tensor.reduction_by_loops(op_type, *inputs, **attributes)
    if op_type in reference.shape.OPERATORS:
        extra = {"output_count": output_count} if op_type == "Split" else {}
        return loop_tensor.BY_LOOPS[op_type](*inputs, **attributes, **extra)
    if op_type in ("MatMul", "Gemm", "Gather", "Dropout"):
        return _dense_operator(op_type, inputs, attributes, opset)
    return _elementwise_operator(op_type, inputs, attributes, opset)


def exact_values(case: Case) -> list[np.ndarray]:
    """The case's outputs computed at ``DIGITS`` digits, not yet rounded (object arrays of mpf where
    they involve arithmetic)."""
    with mpmath.workdps(DIGITS):
        inputs = [exactly(x) for x in case.inputs.values()]
        outputs = _looped(case.op_type, inputs, dict(case.attributes), case.opset, len(case.outputs))
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    return list(outputs[: len(case.outputs)])


def exact_outputs(case: Case) -> list[np.ndarray]:
    """The case's outputs, computed at ``DIGITS`` digits and rounded once to their declared dtypes."""
    with mpmath.workdps(DIGITS):
        return [rounded(o, dtype) for o, dtype in zip(exact_values(case), case.output_dtypes)]


class ExactlyRounded:
    """Benign: every output is the exact result rounded once to its dtype, the best a backend can do."""

    name = "benign-exactly-rounded"
    version = "exact"

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        return exact_outputs(Case.from_model(model, inputs))


class OnTheFarSide:
    """Benign: the exact result moved by half the backend's own error bound, away from the float64
    reference, then rounded once: a correct backend's error, placed where the reference's own
    rounding error adds to it. On float64 data only the bound with the reference's error in it
    (``conformance.tolerance.with_reference_error``) accepts it wherever the reference is off.
    """

    name = "benign-on-the-far-side"
    version = "exact"
    share = 0.5  # of the backend's bound; rounding once adds up to half an ulp more

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        from conformance.ops import get_declaration

        case = Case.from_model(model, inputs)
        declaration = get_declaration(case.op_type)
        expected = declaration.expected(case)
        bounds = declaration.tolerance.bounds(case, ())
        outputs = []
        with mpmath.workdps(DIGITS):
            for value, reference_value, bound, dtype in zip(exact_values(case), expected, bounds, case.output_dtypes):
                if np.dtype(dtype).kind != "f":
                    outputs.append(np.asarray(value).astype(dtype))
                    continue
                moved = np.empty(np.shape(value), dtype=object)
                bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), moved.shape)
                for index, exact in np.ndenumerate(np.asarray(value, dtype=object)):
                    exact = exact if isinstance(exact, mpmath.mpf) else mpmath.mpf(float(exact))
                    away = 1 if exact >= reference_value[index] else -1
                    step = self.share * bound[index]
                    moved[index] = exact + away * step if mpmath.isfinite(exact) and math.isfinite(step) else exact
                outputs.append(rounded(moved, dtype))
        return outputs

