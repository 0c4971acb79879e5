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
    array (or float) per output, from its own rounding-error derivation, stated in ``summary``."""

    bound_function: Callable[[Case, Iterable[str]], list[np.ndarray]]
    summary: str

    def bounds(self, case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
        return self.bound_function(case, variants)

    def describe(self) -> str:
        return self.summary
