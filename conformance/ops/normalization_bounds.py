"""Error bounds of the normalization operators, from the rounding-error analysis of their computation.

Notation: ``u`` is the unit roundoff of a precision (2^-11 float16, 2^-24 float32, 2^-53 float64),
``gamma(k, u) = k*u / (1 - k*u)`` (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd
ed., section 3.1), ``tiny`` the precision's smallest normal number. Three precisions are involved:

- ``u_s``, the statistics' (mean and variance): the stash type where the operator has one
  (LayerNormalization, GroupNormalization-21, RMSNormalization: float32), float32 for float16
  BatchNormalization-15 ("ReduceMean and ReduceVar use float"), the input's type otherwise;
- ``u_n``, the normalization's (centering, reciprocal square root, product): the stash type, or
  the least precise of the operator's input types;
- ``u_o``, the output's, for the affine stage ``scale * z + bias`` and the final rounding.

Inputs are exact: the reference reads the very arrays the backend got. The exact values come
from the float64 reference; each bound below is what a backend that computes in those precisions
may be off by, whatever its summation order, blocking or fusion.

**Statistics** over a group of n values x_j with mean mu, population variance s2 (sigma = sqrt(s2))
and mean absolute value A = mean|x_j|, computed in two passes (the mean, then the mean of squared
deviations) or by Welford's updating:

- the mean is a sum of n terms and one division: ``|mu^ - mu| <= e_mu = gamma(n, u_s) * A``;
- the variance sums the n squares of rounded deviations ``d^_j = (x_j - mu^)(1 + delta)``. Their
  own roundings (the subtraction, the square, n - 1 additions of nonnegative terms, the division)
  make ``gamma(n + 3, u_s) * s2``. The shift of the mean adds ``e_mu^2`` to a two-pass variance (the
  deviations from the exact mean sum to zero), and at most ``2 * e_mu * sigma`` to an updating one
  (each update multiplies a deviation by a mean that is e_mu off; Chan, Golub & LeVeque 1983).
  So ``|s2^ - s2| <= E_v = gamma(n + 3, u_s) * s2 + e_mu * (2 * sigma + e_mu)``.

A backend that casts a wider X to the stash type first (float64 X, stash_type float) perturbs
each x_j by ``u_s * |x_j|``: the mean moves by ``u_s * A`` (two more units in e_mu) and the variance
by at most ``u_s * rms(x) * (2 * sigma + u_s * rms(x))`` (Cauchy-Schwarz). The textbook one-pass
formula ``mean(x^2) - mean(x)^2`` (ONNX's function bodies of LayerNormalization and
GroupNormalization use it) loses ``gamma(n, u_s) * mean(x^2)``, that is ``(mu / sigma)^2`` times more
than E_v when the mean is far from zero: it is not a correct float32 implementation here, and the
strategies draw such means on purpose.

**Normalization** ``z_j = (x_j - mu) * r``, ``r = 1 / sqrt(s2 + eps)``:

- ``t = s2 + eps`` is formed with an error ``E_t = E_v + gamma(2, u_n) * (t + E_v)`` (the addition,
  and eps itself rounded to the working precision);
- ``r^ = r * (1 + rho)`` with ``rho = (t / t_low)^(1/2) * (1 + gamma(4, u_n)) - 1``: the
  perturbation of t, a square root and a division, or a reciprocal square root refined by one
  Newton step (two units more). ``t_low`` is the least t^ can be: ``t - E_t``, but never below
  ``eps * (1 - gamma(2, u_n))``, since a computed variance (a mean of squares) is never negative.
  Only when eps is itself below tiny (flushed to zero) and E_t reaches t can r^ be unbounded: the
  output is then undetermined, and its elements are not judged;
- the centering ``x_j - mu^`` is off by ``D_j = e_mu + gamma(3, u_n) * (|x_j| + |mu|)``: a direct
  subtraction loses ``u_n * |x_j - mu|``, and a backend that folds the normalization into
  ``x * a + (b - mu * a)`` (onnxruntime does) rounds ``x * a`` and ``mu * a`` separately, which is
  what the ``|x_j| + |mu|`` term pays for;
- ``|z^_j - z_j| <= r * (D_j * (1 + rho)(1 + u_n) + |x_j - mu| * ((1 + rho)(1 + u_n) - 1))``.

For inference BatchNormalization the mean and variance are inputs: ``e_mu = E_v = 0``. With epsilon
outside the square root (MeanVarianceNormalization's ``sqrt(s2) + 1e-9``, and the
``eps_outside_sqrt`` variant) the square root's own perturbation is propagated instead
(``sqrt(s2 +- E_v)``), then the addition and one division.

**Affine stage** ``y = scale * z + bias`` in the output precision (a cast of z, a product, a sum):
``|y^ - y| <= |scale| * |z^ - z| * (1 + gamma(2, u_o)) + gamma(3, u_o) * (|scale * z| + |bias|)``.

**Running statistics** (BatchNormalization training) ``running = input * momentum + batch * (1 -
momentum)``: ``gamma(3, u_n) * (|input * momentum| + |batch * (1 - momentum)|)`` plus the batch
statistic's own error times ``(1 - momentum)``. Saved and returned statistics (saved_mean,
LayerNormalization's Mean and InvStdDev) carry their error plus one rounding to the output type.

**LRN** ``y = x * t^-beta``, ``t = bias + alpha / size * S``, S a sum of at most ``size`` squares,
bias and alpha positive (all terms nonnegative): ``t^ = t * (1 + theta)``, ``|theta| <= gamma(size + 3,
u)``. A power computed as ``exp(-beta * log t)`` (or a libm pow within an ulp) adds
``u * (2 * beta * |ln t| + beta + 1)`` to the exponent and one rounding; the product with x one more:
``|y^ - y| <= |y| * ((1 - rho_t)^-beta * exp(u * (2 beta |ln t| + beta + 1)) * (1 + gamma(2, u)) - 1)``.

**LpNormalization** ``y = x / ||x||_p``: the norm is a sum S of n nonnegative terms (``gamma(n, u)``,
plus ``n * tiny / S`` for squares that underflow), then a square root for p = 2, then a division
(with the same reciprocal-square-root allowance): relative bounds. Where the norm is zero the
output is exactly zero.

**RMSNormalization** ``y = scale * x / sqrt(mean(x^2) + eps)``: the mean of squares is a sum of n
nonnegative terms and a division (``gamma(n + 2, u_s)``), then as above with ``D_j = u_n * |x_j|``
(plus the cast).

Flush-to-zero arithmetic can lose up to ``tiny`` per operation near zero; each bound adds
``tiny`` of its precision for every operation that can underflow, where the underflow happens: a
sum of n terms loses less than ``n * tiny``, so its mean less than ``tiny`` (the mean's floor is
``2 * tiny`` with the division, the variance's ``3 * tiny`` with the squares).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from conformance.tolerance import gamma, unit_roundoff


@dataclass(frozen=True)
class Precisions:
    """Unit roundoffs of the statistics, the normalization and the output, and whether X is rounded
    to the statistics' precision first (a float64 X with a float32 stash type)."""

    statistics: float
    normalize: float
    output: float
    cast: bool = False

    @property
    def tiny_statistics(self) -> float:
        return _tiny(self.statistics)

    @property
    def tiny_normalize(self) -> float:
        return _tiny(self.normalize)

    @property
    def tiny_output(self) -> float:
        return _tiny(self.output)


_TINY = {unit_roundoff(np.dtype(d)): float(np.finfo(d).tiny) for d in ("float16", "float32", "float64")}


def _tiny(u: float) -> float:
    return _TINY.get(u, 0.0)


def least_precise(*dtypes: np.dtype) -> float:
    """The largest unit roundoff among ``dtypes``: the precision a mixed computation can rely on."""
    return max(unit_roundoff(np.dtype(d)) for d in dtypes)


@dataclass(frozen=True)
class Statistics:
    """Exact statistics of the groups a normalization reduces over, kept with size-1 axes, and the
    error bounds of computing them."""

    mean: np.ndarray
    variance: np.ndarray
    mean_error: np.ndarray
    variance_error: np.ndarray


def computed_statistics(X: np.ndarray, axes: Sequence[int], p: Precisions, ddof: int = 0) -> Statistics:
    """Mean and variance of X over ``axes`` and the bounds e_mu and E_v of the module docstring.

    ``ddof = 1`` gives the sample variance (the unbiased variants), whose bound scales with it.
    """
    axes = tuple(axes)
    X = X.astype(np.float64)
    n = int(np.prod([X.shape[a] for a in axes])) if axes else 1
    mean = X.mean(axis=axes, keepdims=True)
    variance = np.square(X - mean).mean(axis=axes, keepdims=True)
    absolute_mean = np.abs(X).mean(axis=axes, keepdims=True)
    u, tiny = p.statistics, p.tiny_statistics
    extra = 2 if p.cast else 0
    # Flushed to zero: inputs or partial sums below tiny lose less than tiny each, n of them in a sum
    # of n terms, so less than tiny in the mean; the division by n one more (see the docstring).
    mean_error = gamma(n + extra, u) * absolute_mean + 2 * tiny
    sigma = np.sqrt(variance)
    variance_error = gamma(n + 3 + extra, u) * variance + mean_error * (2 * sigma + mean_error) + 3 * tiny
    if p.cast:
        rms = np.sqrt(np.square(X).mean(axis=axes, keepdims=True))
        variance_error = variance_error + u * rms * (2 * sigma + u * rms)
    if ddof:
        factor = n / (n - ddof)
        variance, variance_error = variance * factor, variance_error * factor * (1 + gamma(2, u))
    return Statistics(mean, variance, mean_error, variance_error)


def given_statistics(mean: np.ndarray, variance: np.ndarray) -> Statistics:
    """Statistics that are inputs (inference BatchNormalization): exact, no error of their own."""
    mean, variance = mean.astype(np.float64), variance.astype(np.float64)
    return Statistics(mean, variance, np.zeros_like(mean), np.zeros_like(variance))


def inverse_std_error(stats: Statistics, epsilon: float, p: Precisions,
                      eps_outside_sqrt: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``r = 1 / sqrt(var + eps)`` (or ``1 / (sqrt(var) + eps)``) and the bound rho on r^'s relative error."""
    u, tiny = p.normalize, p.tiny_normalize
    variance, E_v = stats.variance, stats.variance_error
    # The computed variance is a mean of squares, never negative, so the computed t is at least
    # epsilon as the backend holds it, unless epsilon is below tiny and flushed to zero.
    epsilon_floor = epsilon * (1 - gamma(2, u)) if epsilon >= tiny else 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if not eps_outside_sqrt:
            t = variance + epsilon
            E_t = E_v + gamma(2, u) * (t + E_v) + tiny
            return 1 / np.sqrt(t), _inverse_error(t, E_t, epsilon_floor, 0.5, gamma(4, u))
        sigma = np.sqrt(variance)
        low, high = np.sqrt(np.maximum(variance - E_v, 0)), np.sqrt(variance + E_v)
        E_sigma = np.maximum(sigma - low, high - sigma) + u * high + tiny
        t = sigma + epsilon
        E_t = E_sigma + gamma(2, u) * (t + E_sigma) + tiny
        return 1 / t, _inverse_error(t, E_t, epsilon_floor, 1.0, gamma(2, u))


def _inverse_error(t: np.ndarray, E_t: np.ndarray, floor: float, power: float, rounding: float) -> np.ndarray:
    """Bound rho on the relative error of ``t^-power`` computed from ``t^`` in
    ``[max(t - E_t, floor), t + E_t]`` with ``rounding`` of its own; infinite where t^ may reach 0
    (the output is then undetermined, and its elements are not judged)."""
    low = np.maximum(t - E_t, floor)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(low > 0, (t / np.where(low > 0, low, 1.0)) ** power * (1 + rounding) - 1, np.inf)


def standardized_error(X: np.ndarray, stats: Statistics, r: np.ndarray, rho: np.ndarray,
                       p: Precisions) -> tuple[np.ndarray, np.ndarray]:
    """``z = (x - mu) * r`` and the bound on ``|z^ - z|`` (the normalization paragraph above)."""
    X = X.astype(np.float64)
    u = p.normalize
    deviation = X - stats.mean
    centering = stats.mean_error + gamma(3, u) * (np.abs(X) + np.abs(stats.mean)) + 2 * p.tiny_normalize
    if p.cast:
        centering = centering + p.statistics * np.abs(X)
    with np.errstate(invalid="ignore", over="ignore"):
        grown = (1 + rho) * (1 + u)
        error = r * (centering * grown + np.abs(deviation) * (grown - 1))
        z = deviation * r
    return z, np.where(np.isnan(error), np.inf, error)


def affine_error(z: np.ndarray, z_error: np.ndarray, scale: np.ndarray | float, bias: np.ndarray | float,
                 p: Precisions) -> np.ndarray:
    """Bound on ``|y^ - y|`` for ``y = scale * z + bias`` computed from z^ in the output precision."""
    u = p.output
    scale, bias = np.abs(scale), np.abs(bias)
    with np.errstate(invalid="ignore", over="ignore"):
        bound = scale * z_error * (1 + gamma(2, u)) + gamma(3, u) * (scale * np.abs(z) + bias) + 3 * p.tiny_output
    return np.where(np.isnan(bound), np.inf, bound)


def running_error(input_statistic: np.ndarray, batch: np.ndarray, batch_error: np.ndarray,
                  keep: float, take: float, p: Precisions) -> np.ndarray:
    """Bound on ``input * keep + batch * take`` computed from a batch statistic that is ``batch_error`` off."""
    u = p.normalize
    magnitude = np.abs(input_statistic) * keep + np.abs(batch) * take
    return gamma(3, u) * magnitude + take * batch_error * (1 + gamma(2, u)) + 2 * p.tiny_normalize


def rounded(value_error: np.ndarray, value: np.ndarray, u: float) -> np.ndarray:
    """The error of a computed value that is rounded once more to a precision of unit roundoff u."""
    return value_error * (1 + u) + u * np.abs(value) + _tiny(u)


def lrn_error(Y: np.ndarray, t: np.ndarray, size: int, beta: float, u: float) -> np.ndarray:
    """Bound on |y^ - y| for LRN, from the exact output and denominator base t (LRN paragraph above)."""
    rho_t = gamma(size + 3, u)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        exponent = u * (2 * beta * np.abs(np.log(t)) + beta + 1)
        relative = (1 - rho_t) ** -beta * np.exp(exponent) * (1 + gamma(2, u)) - 1
        bound = np.abs(Y) * relative + 2 * (size + 3) * _tiny(u)
    return np.where(np.isnan(bound), np.inf, bound)


def relative_error_of_quotient(sum_error: np.ndarray, square_root: bool, u: float) -> np.ndarray:
    """Relative error bound of ``x / S`` (or ``x / sqrt(S)``) for a sum S computed ``sum_error`` relatively off."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if square_root:
            relative = (1 - sum_error) ** -0.5 * (1 + gamma(3, u)) - 1
        else:
            relative = (1 - sum_error) ** -1.0 * (1 + gamma(2, u)) - 1
    return np.where(sum_error < 1, relative, np.inf)
