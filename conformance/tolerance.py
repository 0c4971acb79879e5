"""Per-element error bounds, from the rounding-error analysis of how each operator is computed.

A result that sums n products ``y = sum_j a_j * b_j`` (a convolution: n = C/group * prod(kernel)
taps, plus one for the bias), computed in floating point with unit roundoff u in *any* order,
blocking or fused-multiply-add pattern, satisfies (Higham, *Accuracy and Stability of Numerical
Algorithms*, 2nd ed., section 3.1) the componentwise bound

    |computed - y| <= gamma_n * sum_j |a_j * b_j|,   gamma_n = n*u / (1 - n*u).

``sum_j |a_j * b_j|`` is the operator evaluated on the absolute values of its inputs, which the
float64 reference computes directly. Fast algorithms that transform the operands first (Winograd,
FFT) are only normwise stable: their error at one output also involves inputs just outside its
window. Where an operator declares a normwise magnitude (for a convolution, ``||w_m||_1 *
||x_n||_inf`` per image and output channel, the bound of Young's inequality) the bound adds
``gamma_n`` times it. A convention bug changes outputs by O(1) relative, so neither term can hide
one. A floor of ``2 * n * tiny`` (tiny = the dtype's smallest normal number) covers flush-to-zero
arithmetic, where each of the 2n - 1 operations can lose up to ``tiny`` near zero. Inputs are not
rounded: the reference reads the very arrays the backend got.

The reference computes in float64, so for float16 and float32 data its own rounding is some 2^29
times below the bound and the bound may take it as exact. For float64 data it is not: the
reference rounds as often as the backend, in the same precision (a sum of n products, n - 1
multiplications), so its error obeys the very bound the backend's does, and the bound a float64
case is judged by is twice the backend's (``with_reference_error``): a correct backend that
lands on the other side of the exact result from the reference is not blamed (ReduceProd-11 on
``[-0.1449, 5.3565, -0.6474, 8.7992]``: the reference 1.14 ulp from the exact product, a backend
0.86 ulp, 1.21 times its bound alone). Bounds that already add float64's own error (the ulp
budgets of the elementwise functions, Gemm, MatMul, Sum, Mean) say so
(``reference_error_included``).

``tests/test_exact_oracle.py`` holds every bound to this: a backend that returns the exact result
(computed in 60-digit arithmetic) rounded once to the output dtype must agree on every operator
in float16, float32 and float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

import numpy as np

import reference
from conformance.case import Case


def unit_roundoff(dtype: np.dtype) -> float:
    """u = 2^-p for a p-bit significand: 2^-11 (float16), 2^-24 (float32), 2^-53 (float64)."""
    return float(np.finfo(dtype).eps) / 2


def with_reference_error(tolerance: "Tolerance", case: Case, bounds: list) -> list:
    """``bounds`` widened by the float64 reference's own rounding where it matters: doubled for a
    float64 case, unless the tolerance model already adds it (see the module docstring)."""
    if case.dtype != np.float64 or getattr(tolerance, "reference_error_included", False):
        return bounds
    return [2 * b for b in bounds]  # an array or a float either way


def gamma(n: int, u: float) -> float:
    """Higham's gamma_n = n*u / (1 - n*u): the relative error bound of n rounded operations."""
    return n * u / (1 - n * u) if n * u < 1 else float("inf")


class Tolerance(Protocol):
    """How far a correct backend's output may be from the float64 reference, per element."""

    def bounds(self, case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Accumulation:
    """Outputs that are sums of at most ``terms(case)`` products (an added bias is one more term).

    ``normwise(case)``, if given, returns per output a magnitude (broadcastable to it) that bounds
    every product a fast algorithm may form for that output; see the module docstring.
    """

    terms: Callable[[Case], int]
    normwise: Callable[[Case], list[np.ndarray]] | None = None

    def bounds(self, case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
        n, dtype = self.terms(case), case.dtype
        u, tiny = unit_roundoff(dtype), float(np.finfo(dtype).tiny)
        magnitudes = list(reference.evaluate(
            case.op_type,
            [None if x is None else np.abs(x.astype(np.float64)) for x in case.inputs.values()],
            case.attributes,
            variants,
            case.opset,
        ))
        if self.normwise is not None:
            magnitudes = [m + s for m, s in zip(magnitudes, self.normwise(case))]
        return [gamma(n, u) * m + 2 * n * tiny for m in magnitudes]

    def scales(self, case: Case, bounds: list[np.ndarray]) -> list[np.ndarray | None]:
        """The magnitude of the terms behind each element, ``sum |a*b|`` (plus the normwise
        magnitude), read back from ``bounds``: the scale a ULP is measured at (``compare``)."""
        n, dtype = self.terms(case), case.dtype
        g, floor = gamma(n, unit_roundoff(dtype)), 2 * n * float(np.finfo(dtype).tiny)
        if not 0 < g < float("inf"):
            return [None] * len(bounds)
        return [np.maximum(np.asarray(b) - floor, 0.0) / g for b in bounds]

    def describe(self) -> str:
        normwise = " + normwise magnitude" if self.normwise is not None else ""
        return f"gamma_n(u) * (sum|a*b|{normwise}) + 2n*tiny, n = products per output element"


@dataclass(frozen=True)
class Exact:
    """Outputs that select or move values without arithmetic: any difference is an error.

    ``count`` outputs, or as many as the case declares when ``count`` is None (Split).
    """

    count: int | None = 1

    def bounds(self, case: Case, variants: Iterable[str] = ()) -> list[float]:
        return [0.0] * (len(case.outputs) if self.count is None else self.count)

    def describe(self) -> str:
        return "exact"


@dataclass(frozen=True)
class Derived:
    """A bound written out by the operator's declaration: ``bounds(case, variants)`` returns one
    array (or float) per output, from its own rounding-error derivation, stated in ``summary``;
    ``reference_error_included`` when that derivation adds the float64 reference's own error."""

    bound_function: Callable[[Case, Iterable[str]], list[np.ndarray]]
    summary: str
    reference_error_included: bool = False

    def bounds(self, case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
        return self.bound_function(case, variants)

    def describe(self) -> str:
        return self.summary
