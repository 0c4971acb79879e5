"""The normalization operators written a second time, with loops, straight from the ONNX text.

An independent oracle for the vectorized reference (``reference.normalization``): one group of
statistics and one output element at a time, with the windows, axes and opset rules recomputed
from the operator descriptions. It imports nothing from ``reference``. Slow by design.

It computes in the precision of the numbers given (``tests.loop_numbers``): float64 for float
arrays, mpmath's working precision for object arrays of mpf (the exact oracle). Every input array,
the parameters and statistics included, keeps its kind; float attributes are float32 values, exact
in either, and the constants combined with one another before they meet the data (``alpha / size``,
``1 - momentum``) take the data's kind.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Sequence

import numpy as np

from tests.loop_numbers import fsum, number, number_like, numbers, sqrt, zeros


def f32(value: float) -> float:
    """Float attributes are 32-bit floats in ONNX."""
    return float(np.float32(value))


def mean_and_variance(values: Sequence[Any]) -> tuple[Any, Any]:
    """The mean, then the mean of squared deviations (the population variance)."""
    values = [number(v) for v in values]
    mean = fsum(values) / len(values)
    return mean, fsum((v - mean) ** 2 for v in values) / len(values)


def _positions(shape: Sequence[int]):
    return itertools.product(*(range(s) for s in shape))


def batch_normalization_by_loops(X, scale, B, input_mean, input_var, *, epsilon=1e-5, momentum=0.9,
                                 training_mode=0, spatial=1, is_test=0, opset=15, output_count=1):
    """Inference: (x - mean) / sqrt(var + eps) * scale + B per channel (or per activation for spatial=0).
    Training: the same with the batch's statistics, then running = input * momentum + batch * (1 - momentum)."""
    X = numbers(X)
    epsilon, momentum = f32(epsilon), number_like(f32(momentum), X)  # 1 - momentum: exact in X's kind
    training = bool(training_mode) if opset >= 14 else (output_count > 1 if opset >= 7 else not is_test)
    vector = X.ndim == 1
    if vector:
        X = X.reshape(-1, 1)
    N, C = X.shape[:2]
    # A "feature" is what the statistics are per: a channel, or (spatial=0) a channel and position.
    features = [(c,) for c in range(C)] if spatial else [(c, *p) for c in range(C) for p in _positions(X.shape[2:])]
    Y = np.empty_like(X)
    stats = {}
    for feature in features:
        key = feature if not spatial else feature[0]
        param = lambda a: number(numbers(a)[key])  # noqa: E731
        if spatial:
            members = [(n, feature[0], *p) for n in range(N) for p in _positions(X.shape[2:])]
        else:
            members = [(n, *feature) for n in range(N)]
        if training:
            mean, variance = mean_and_variance([X[m] for m in members])
            stats[key] = (mean, variance)
        else:
            mean, variance = param(input_mean), param(input_var)
        for m in members:
            Y[m] = (X[m] - mean) / sqrt(variance + epsilon) * param(scale) + param(B)
    Y = Y.reshape(-1) if vector else Y
    if not training:
        return (Y,)
    shape = np.asarray(input_mean).shape
    running_mean, running_var, saved_mean, saved_var = (zeros(shape, like=X) for _ in range(4))
    for key, (mean, variance) in stats.items():
        running_mean[key] = number(numbers(input_mean)[key]) * momentum + mean * (1 - momentum)
        running_var[key] = number(numbers(input_var)[key]) * momentum + variance * (1 - momentum)
        saved_mean[key], saved_var[key] = mean, variance
    if opset >= 14:
        return Y, running_mean, running_var
    return Y, running_mean, running_var, saved_mean, saved_var


def lrn_by_loops(X, *, size, alpha=1e-4, beta=0.75, bias=1.0):
    """square_sum over max(0, c - floor((size-1)/2)) <= i <= min(C-1, c + ceil((size-1)/2));
    Y = X / (bias + alpha / size * square_sum) ** beta."""
    X = numbers(X)
    alpha, beta, bias = number_like(f32(alpha), X), f32(beta), f32(bias)  # alpha / size: exact in X's kind
    C = X.shape[1]
    Y = np.empty_like(X)
    for index in _positions(X.shape):
        n, c, *rest = index
        low, high = max(0, c - math.floor((size - 1) / 2)), min(C - 1, c + math.ceil((size - 1) / 2))
        square_sum = fsum(X[(n, i, *rest)] ** 2 for i in range(low, high + 1))
        Y[index] = X[index] / (bias + alpha / size * square_sum) ** beta
    return Y


def _normalize_groups(X, group_of, epsilon):
    """(x - mean) / sqrt(var + eps) with the statistics of each element's group (``group_of(index)``)."""
    groups: dict = {}
    for index in _positions(X.shape):
        groups.setdefault(group_of(index), []).append(index)
    Z = np.empty_like(X)
    stats = {}
    for key, members in groups.items():
        mean, variance = mean_and_variance([X[m] for m in members])
        stats[key] = (mean, variance)
        for m in members:
            Z[m] = (X[m] - mean) / sqrt(variance + epsilon)
    return Z, stats


def layer_normalization_by_loops(X, Scale, B=None, *, axis=-1, epsilon=1e-5, stash_type=1):
    X = numbers(X)
    axis = axis % X.ndim
    Z, stats = _normalize_groups(X, lambda index: index[:axis], f32(epsilon))
    Y = Z * numbers(Scale) + (0 if B is None else numbers(B))
    reduced = X.shape[:axis] + (1,) * (X.ndim - axis)
    Mean, InvStdDev = zeros(reduced, like=X), zeros(reduced, like=X)
    for key, (mean, variance) in stats.items():
        Mean[key + (0,) * (X.ndim - axis)] = mean
        InvStdDev[key + (0,) * (X.ndim - axis)] = 1 / sqrt(variance + f32(epsilon))
    return Y, Mean, InvStdDev


def instance_normalization_by_loops(input, scale, B, *, epsilon=1e-5):
    X = numbers(input)
    Z, _ = _normalize_groups(X, lambda index: index[:2], f32(epsilon))
    shape = (1, -1) + (1,) * (X.ndim - 2)
    return Z * numbers(scale).reshape(shape) + numbers(B).reshape(shape)


def group_normalization_by_loops(X, scale, bias, *, num_groups, epsilon=1e-5, stash_type=1, opset=21):
    X = numbers(X)
    per_group = X.shape[1] // num_groups
    Z, _ = _normalize_groups(X, lambda index: (index[0], index[1] // per_group), f32(epsilon))
    Y = np.empty_like(X)
    for index in _positions(X.shape):
        c = index[1]
        which = c // per_group if opset < 21 else c  # opset 18: one value per group; 21: per channel
        Y[index] = Z[index] * number(scale[which]) + number(bias[which])
    return Y


def mean_variance_normalization_by_loops(X, *, axes=(0, 2, 3), reading="std_plus_epsilon"):
    """(X - mean) / (std + 1e-9) per slice, the function body's formula; under the reading
    ``std_without_epsilon``, the doc string's (X - mean) / std."""
    X = numbers(X)
    reduced = {a % X.ndim for a in axes}
    groups: dict = {}
    for index in _positions(X.shape):
        groups.setdefault(tuple(i for a, i in enumerate(index) if a not in reduced), []).append(index)
    Y = np.empty_like(X)
    epsilon = 0.0 if reading == "std_without_epsilon" else f32(1e-9)
    for members in groups.values():
        mean, variance = mean_and_variance([X[m] for m in members])
        for m in members:
            std = sqrt(variance) + epsilon
            # 0/0 on a constant slice without epsilon
            Y[m] = (X[m] - mean) / std if std else number_like(math.nan, X)
    return Y


def lp_normalization_by_loops(input, *, axis=-1, p=2):
    X = numbers(input)
    axis = axis % X.ndim
    Y = np.empty_like(X)
    for index in _positions(X.shape[:axis] + X.shape[axis + 1:]):
        vector = [index[:axis] + (k,) + index[axis:] for k in range(X.shape[axis])]
        if p == 1:
            norm = fsum(abs(X[v]) for v in vector)
        else:
            norm = sqrt(fsum(X[v] ** 2 for v in vector))
        for v in vector:
            Y[v] = number_like(0, X) if norm == 0 else X[v] / norm
    return Y


def rms_normalization_by_loops(X, scale, *, axis=-1, epsilon=1e-5, stash_type=1):
    X = numbers(X)
    axis = axis % X.ndim
    groups: dict = {}
    for index in _positions(X.shape):
        groups.setdefault(index[:axis], []).append(index)
    Y = np.empty_like(X)
    for members in groups.values():
        rms = sqrt(fsum(X[m] ** 2 for m in members) / len(members) + f32(epsilon))
        for m in members:
            Y[m] = X[m] / rms
    return Y * numbers(scale)


BY_LOOPS = {
    "BatchNormalization": batch_normalization_by_loops,
    "LRN": lrn_by_loops,
    "LayerNormalization": layer_normalization_by_loops,
    "InstanceNormalization": instance_normalization_by_loops,
    "GroupNormalization": group_normalization_by_loops,
    "MeanVarianceNormalization": mean_variance_normalization_by_loops,
    "LpNormalization": lp_normalization_by_loops,
    "RMSNormalization": rms_normalization_by_loops,
}
