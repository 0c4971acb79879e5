"""Special functions NumPy lacks, vectorized in float64: erf and erfc.

W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for the error
function", Mathematics of Computation 23 (1969) 631-637), as in his netlib SPECFUN routine
CALERF (https://www.netlib.org/specfun/erf): about 1e-16 relative error in each of the three
intervals |x| <= 0.46875, 0.46875 < |x| <= 4 and |x| > 4. erfc keeps its relative accuracy far
into the tail (erfc(26) ~ 1e-296), where 1 - erf(x) would cancel to 0.

tests/test_reference_activations.py checks both against ``math.erf`` and ``math.erfc``.
"""

from __future__ import annotations

import numpy as np

_SQRT_PI_INVERSE = 5.6418958354775628695e-1
_BIG = 27.3  # erfc(x) is below the smallest float64 subnormal beyond this

# erf(x) = x * A(x^2) / B(x^2) for |x| <= 0.46875
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03,
      1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
# erfc(y) = exp(-y^2) * C(y) / D(y) for 0.46875 < y <= 4
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
      8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
      2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
      3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
# erfc(y) = exp(-y^2) / y * (1/sqrt(pi) - P(1/y^2) / (y^2 Q(1/y^2))) for y > 4
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
      6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
      2.33520497626869185e-3)


def _erf_small(x: np.ndarray) -> np.ndarray:
    """erf on |x| <= 0.46875 (other x give meaningless values, selected away by the caller)."""
    z = x * x
    numerator, denominator = _A[4] * z, z
    for a, b in zip(_A[:3], _B[:3]):
        numerator, denominator = (numerator + a) * z, (denominator + b) * z
    return x * (numerator + _A[3]) / (denominator + _B[3])


def _exp_minus_square(y: np.ndarray) -> np.ndarray:
    """exp(-y^2) with y^2 split as Cody does, so that its rounding does not reach the tail's accuracy."""
    head = np.trunc(16.0 * y) / 16.0
    return np.exp(-head * head) * np.exp(-(y - head) * (y + head))


def _erfc_positive(y: np.ndarray) -> np.ndarray:
    """erfc on y > 0.46875 (y >= 0 required; smaller y give meaningless values)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        numerator, denominator = _C[8] * y, y
        for c, d in zip(_C[:7], _D[:7]):
            numerator, denominator = (numerator + c) * y, (denominator + d) * y
        middle = (numerator + _C[7]) / (denominator + _D[7])
        r = 1.0 / (y * y)
        numerator, denominator = _P[5] * r, r
        for p, q in zip(_P[:4], _Q[:4]):
            numerator, denominator = (numerator + p) * r, (denominator + q) * r
        tail = (_SQRT_PI_INVERSE - r * (numerator + _P[4]) / (denominator + _Q[4])) / y
        value = np.where(y <= 4.0, middle, tail) * _exp_minus_square(np.minimum(y, _BIG))
    return np.where(y < _BIG, value, 0.0)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt, elementwise, in float64."""
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x)
    small = y <= 0.46875
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(small, _erf_small(np.where(small, x, 0.0)), np.sign(x) * (1.0 - _erfc_positive(y)))


def erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function 1 - erf(x), elementwise, in float64, accurate in the tail."""
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x)
    small = y <= 0.46875
    tail = _erfc_positive(y)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(small, 1.0 - _erf_small(np.where(small, x, 0.0)), np.where(x < 0, 2.0 - tail, tail))
