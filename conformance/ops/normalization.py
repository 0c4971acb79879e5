"""The normalization family: the cases to draw, the features that describe them, the error bounds.

The strategies make conventions visible rather than hide them under large variances:

- values are drawn as ``mean + std * noise`` per normalized group, with the variance from 1e-6 to
  1e2 times epsilon (epsilon itself from 1e-6 to 1e-1), so that where epsilon goes (inside or
  outside the square root) changes the answer; means from zero to 1000 standard deviations, where
  a numerically careless variance (one-pass ``E[x^2] - E[x]^2``) falls apart;
- N != C, C = 1, spatial size 1, small reductions (where n and n - 1 differ by a lot), every
  BatchNormalization opset whose semantics differ (6 with ``is_test``, the version a model stamped
  opset 6 uses, as ONNX's ``pytorch-converted`` test models are: mostly ``is_test=1`` with Y alone,
  a quarter in training with five outputs; 7 with ``spatial``, 9 with five training outputs, 14
  with ``training_mode``, 15 with separate parameter types), momenta that tell ``momentum`` from
  ``1 - momentum``. Opset 6's ``spatial=0`` is drawn on 2-D X only: its text gives every parameter
  shape (C) yet computes the statistics "per feature", which for X of rank 3 or more reads either
  way; on N x C both readings are the per-channel statistics;
- LRN sizes 1 to 9 of both parities with channel counts below, at and above them (windows
  clipped at both edges), alpha over five decades so that ``alpha`` and ``alpha / size`` differ
  visibly even when the squares are small.

Tensors stay around 4k elements. The error bounds and their derivation are in
``conformance.ops.normalization_bounds``.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from conformance.case import Case
from conformance.ops import normalization_bounds as nb
from conformance.ops.declaration import CheckerCaveat, OpDeclaration
from conformance.strategies import Draws, float_dtypes, other_than
from conformance.strategies import built_once as st
from conformance.tolerance import Derived, gamma, unit_roundoff
from reference.normalization import (
    MVN_EPSILON,
    batch_normalization_is_training,
    float32_attribute,
    lrn_square_sum,
    moments,
)

INPUT_BUDGET = 4096  # elements of X
# float16 statistics computed in float16 are bounded by gamma(n, 2^-11) * mean|x|: small groups
# near zero keep that bound tight enough to judge (n * u <= 1/8), so float16 draws stay within it.
FLOAT16_STATISTICS_BUDGET = 256
FLOAT32_U = unit_roundoff(np.dtype("float32"))

# Epsilon values and log10(variance / epsilon) per dtype. float16 keeps its epsilon and its
# variances normal (above float16's tiny, 6.1e-5, which flush-to-zero arithmetic may lose: std >=
# 3e-2) and its sums finite (std <= 1, means <= 10 std), so that its outputs are determined and
# judged (normalization_bounds); float32 and float64 take the whole range. Hypothesis shrinks
# towards the first value: a variance equal to epsilon, where the conventions differ most, keeps
# shrunk counterexamples telling.
EPSILONS = {"float16": (1e-3, 1e-4, 1e-1), "float32": (1e-6, 1e-5, 1e-3, 1e-1), "float64": (1e-6, 1e-5, 1e-3, 1e-1)}
VARIANCE_TO_EPSILON = {"float16": (0, -2, -1, 1, 2), "float32": (0, -6, -4, -2, -1, 1, 2),
                       "float64": (0, -6, -4, -2, -1, 1, 2)}
MEAN_TO_STD = {"float16": (0, 0, 1, 2), "float32": (0, 0, 1, 10, 100, 1000), "float64": (0, 1, 10, 1000)}
FLOAT16_STD_RANGE = (3e-2, 1.0)
MOMENTA = (0.9, 0.99, 0.1, 0.7, 0.0, 1.0)  # 0.5 would make momentum and 1 - momentum agree


# --- shared draws -------------------------------------------------------------------------------


def _attributes(d: Draws, values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes, with default values spelt out or left implicit (both forms are drawn)."""
    explicit = d("explicit_defaults", st.booleans())
    return {k: v for k, v in values.items() if v is not None and (explicit or v != defaults.get(k))}


def _epsilon(d: Draws, dtype: str) -> float:
    """An epsilon for ``dtype``, as the float32 value the model stores (so cases say what backends read)."""
    return float32_attribute(d("epsilon", st.sampled_from(EPSILONS[dtype])))


def _sizes(d: Draws, label: str, count: int, others: int, low: int = 1, high: int = 8,
           budget: int = INPUT_BUDGET) -> list[int]:
    """``count`` sizes in [low, high], kept within the element budget given the product of the other axes."""
    if count == 0:
        return []
    cap = max(low, int((budget / max(1, others)) ** (1 / count)))
    return list(d(label, st.tuples(*(st.integers(low, max(low, min(high, cap))) for _ in range(count)))))


def grouped_values(d: Draws, label: str, shape: Sequence[int], group_axes: Sequence[int], dtype: str,
                   epsilon: float, ratios: Sequence[int] | None = None) -> np.ndarray:
    """``mean_g + std_g * noise``: each group (a position on ``group_axes``) its own mean and spread.

    The spread is drawn relative to epsilon (``label.variance_to_epsilon``, a power of ten) and
    the mean relative to the spread (``label.mean_to_std``); each group varies them by up to a
    factor of two. ``label.values`` picks the noise: normal, uniform, or two-valued (+-1).
    """
    seed = d(f"{label}.seed", st.integers(0, 2**32 - 1))
    ratio = d(f"{label}.variance_to_epsilon", st.sampled_from(ratios or VARIANCE_TO_EPSILON[dtype]))
    offset = d(f"{label}.mean_to_std", st.sampled_from(MEAN_TO_STD[dtype]))
    kind = d(f"{label}.values", st.sampled_from(("normal", "uniform", "two_valued")))
    rng = np.random.default_rng(seed)
    std = math.sqrt(epsilon * 10.0**ratio)
    if dtype == "float16":
        std = min(max(std, FLOAT16_STD_RANGE[0]), FLOAT16_STD_RANGE[1])
    group_shape = [s if a in group_axes else 1 for a, s in enumerate(shape)]
    group_std = std * 2.0 ** rng.uniform(-1, 1, group_shape)
    group_mean = offset * group_std * rng.uniform(0.5, 1.0, group_shape) * rng.choice((-1.0, 1.0), group_shape)
    if kind == "normal":
        noise = rng.standard_normal(shape)
    elif kind == "uniform":
        noise = rng.uniform(-math.sqrt(3), math.sqrt(3), shape)
    else:
        noise = rng.choice((-1.0, 1.0), shape)
    return (group_mean + group_std * _standardized(noise, group_axes, dtype)).astype(dtype)


def _standardized(noise: np.ndarray, group_axes: Sequence[int], dtype: str) -> np.ndarray:
    """Noise with mean 0 and variance 1 in each group of two or more elements, so that a group's
    spread is the one drawn rather than a chance small one (three normal values may fall within a
    hundredth of a standard deviation). A constant group stays constant (a corner of its own),
    except in float16, where its output is undetermined (the 1e-9 of MeanVarianceNormalization
    rounds to zero, and 0 / 0 is NaN): there it alternates."""
    axes = tuple(a for a in range(noise.ndim) if a not in group_axes)
    if not axes or int(np.prod([noise.shape[a] for a in axes])) < 2:
        return noise
    centered = noise - noise.mean(axis=axes, keepdims=True)
    spread = np.sqrt(np.square(centered).mean(axis=axes, keepdims=True))
    if dtype == "float16":
        alternating = np.where(np.indices(noise.shape).sum(axis=0) % 2 == 0, 1.0, -1.0)
        centered = np.where(spread > 0, centered, alternating - alternating.mean(axis=axes, keepdims=True))
        spread = np.sqrt(np.square(centered).mean(axis=axes, keepdims=True))
    return np.where(spread > 0, centered / np.where(spread > 0, spread, 1.0), noise)


def affine_operand(d: Draws, label: str, shape: Sequence[int], dtype: str, kind_choices=("random", "random", "ones")
                   ) -> np.ndarray:
    """A scale (|s| in [0.5, 2], either sign) or an offset (normal) operand, or ones."""
    seed = d(f"{label}.seed", st.integers(0, 2**32 - 1))
    kind = d(f"{label}.values", st.sampled_from(kind_choices))
    rng = np.random.default_rng(seed)
    if kind == "ones":
        return np.ones(shape, dtype=dtype)
    if kind == "zeros":
        return np.zeros(shape, dtype=dtype)
    if kind == "offset":
        return rng.standard_normal(shape).astype(dtype)
    return (rng.uniform(0.5, 2.0, shape) * rng.choice((-1.0, 1.0), shape)).astype(dtype)


def _log10_ratio(numerator: np.ndarray, denominator: float) -> float:
    with np.errstate(divide="ignore"):
        return float(np.log10(np.min(numerator) / denominator)) if np.size(numerator) else 0.0


def _mean_to_std(mean: np.ndarray, variance: np.ndarray) -> float:
    """The largest |mean| / std over groups (infinite for a constant group with a nonzero mean)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(mean) / np.sqrt(variance)
    ratio = np.where(np.abs(mean) == 0, 0.0, ratio)
    return float(np.max(ratio)) if ratio.size else 0.0


def _statistics_features(X: np.ndarray, axes: Sequence[int], epsilon: float) -> dict[str, Any]:
    mean, variance = moments(X.astype(np.float64), axes)
    n = int(np.prod([X.shape[a] for a in axes])) if axes else 1
    return {
        "reduction_size": n,
        "min_variance_to_epsilon": _log10_ratio(variance, epsilon),
        "max_mean_to_std": _mean_to_std(mean, variance),
        "constant_group": bool(np.any(variance == 0)),
    }


def _common_features(case: Case, X: np.ndarray) -> dict[str, Any]:
    return {
        "opset": case.opset,
        "dtype": str(X.dtype),
        "rank": X.ndim,
        "outputs": len(case.outputs),
        "max_abs_input": float(np.abs(X.astype(np.float64)).max()) if X.size else 0.0,
    }


def _channel_features(X: np.ndarray) -> dict[str, Any]:
    N = X.shape[0]
    C = X.shape[1] if X.ndim > 1 else 1
    spatial = X.shape[2:]
    return {
        "N": N,
        "C": C,
        "batch_ne_channels": N != C,
        "batch_minus_channels": N - C,
        "channels_one": C == 1,
        "spatial_one": all(s == 1 for s in spatial),
    }


def _corner_flags(features: dict[str, Any]) -> dict[str, Any]:
    """Derived yes/no features the strategies are declared to reach."""
    ratio = features.get("min_variance_to_epsilon", float("nan"))
    features["variance_near_epsilon"] = -2 <= ratio <= 2
    features["variance_far_below_epsilon"] = ratio <= -4
    features["mean_far_from_zero"] = features.get("max_mean_to_std", 0) >= 100
    features["small_reduction"] = 2 <= features.get("reduction_size", 0) <= 16
    return features


def _precision(dtype: np.dtype) -> float:
    return unit_roundoff(np.dtype(dtype))


def _stash_precisions(X: np.ndarray) -> nb.Precisions:
    """stash_type float: statistics and normalization in float32, X cast to it when wider."""
    return nb.Precisions(FLOAT32_U, FLOAT32_U, _precision(X.dtype), cast=X.dtype == np.float64)


def _own_precisions(*arrays: np.ndarray) -> nb.Precisions:
    u = nb.least_precise(*(a.dtype for a in arrays if a is not None))
    return nb.Precisions(u, u, u)


# --- BatchNormalization -------------------------------------------------------------------------

BATCH_NORM_OPSETS = (15, 15, 15, 15, 14, 9, 7, 6)


@st.composite
def batch_normalization_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """BatchNormalization calls: opsets 6 (is_test, mostly 1), 7 (spatial 0 and 1), 9 (one or five outputs),
    14 and 15, inference and training, 1-D to 5-D, mixed parameter types at 14 and 15."""
    d = Draws(draw, pins)
    opset = d("opset", st.sampled_from(BATCH_NORM_OPSETS))
    # Opset 6 is mostly is_test=1 (inference, as exported models are), the others half and half.
    training = d("training", st.sampled_from((False, False, False, True)) if opset < 7 else st.booleans())
    dtype = d("dtype", float_dtypes())
    spatial = d("spatial", st.sampled_from((1, 1, 0) if opset >= 7 else (1, 1, 1, 0))) if opset < 9 else 1
    if opset < 7 and not spatial:  # opset 6's spatial=0: parameters of shape (C), so X is N x C (docstring)
        rank = d("rank", st.sampled_from((2,)))
    else:
        rank = d("rank", st.sampled_from((1, 2, 3, 4, 4, 5) if opset >= 9 else (2, 3, 4, 4, 5)))
    if rank == 1:
        C, N = 1, d("N", st.integers(1, 12))
        shape = [N]
    else:
        C = d("C", st.integers(1, 6))
        N = d("N", other_than(C, 1, 4))
        shape = [N, C, *_sizes(d, "spatial_sizes", rank - 2, N * C, budget=_budget(dtype))]
    epsilon = _epsilon(d, dtype)
    # Statistics are per channel (spatial) or per activation (opset 7's spatial=0).
    group_axes = (1,) if spatial else tuple(range(1, rank))
    X = grouped_values(d, "X", shape, group_axes if rank > 1 else (), dtype, epsilon)
    parameter_dtype, statistics_dtype = dtype, dtype
    if opset >= 15 and dtype == "float16":  # T1 and T2 may be wider than T
        parameter_dtype = d("parameter_dtype", st.sampled_from(("float16", "float32")))
        statistics_dtype = d("statistics_dtype", st.sampled_from(("float16", "float32")))
    elif opset == 14 and dtype == "float16":  # U may differ from T
        statistics_dtype = d("statistics_dtype", st.sampled_from(("float16", "float32")))
    parameter_shape = [C] if spatial else shape[1:]
    scale = affine_operand(d, "scale", parameter_shape, parameter_dtype)
    B = affine_operand(d, "B", parameter_shape, parameter_dtype, ("offset", "offset", "zeros"))
    input_mean, input_var = _running_statistics(d, X, spatial, statistics_dtype, training)
    momentum = float32_attribute(d("momentum", st.sampled_from(MOMENTA))) if training else None
    values: dict[str, Any] = {"epsilon": epsilon, "momentum": momentum}
    defaults: dict[str, Any] = {"epsilon": float32_attribute(1e-5), "momentum": float32_attribute(0.9)}
    if opset >= 14:
        values["training_mode"], defaults["training_mode"] = int(training), 0
    if opset < 9:
        values["spatial"], defaults["spatial"] = spatial, 1
    if opset < 7:
        values["is_test"], defaults["is_test"] = int(not training), 0
    attributes = _attributes(d, values, defaults)
    names = ("input_mean", "input_var") if opset >= 14 else ("mean", "var")
    inputs = {"X": X, "scale": scale, "B": B, names[0]: input_mean, names[1]: input_var}
    if not training:
        outputs: tuple[str, ...] = ("Y",)
    elif opset >= 14:
        outputs = ("Y", "running_mean", "running_var")
    else:
        outputs = ("Y", "running_mean", "running_var", "saved_mean", "saved_var")
    output_shapes = {"Y": tuple(shape), **{name: tuple(parameter_shape) for name in outputs[1:]}}
    return Case("BatchNormalization", inputs, attributes, outputs, opset=opset, draws=d.record,
                output_shapes=output_shapes)


def _running_statistics(d: Draws, X: np.ndarray, spatial: int, dtype: str, training: bool
                        ) -> tuple[np.ndarray, np.ndarray]:
    """input_mean and input_var near X's own per-channel statistics (as trained ones would be), each
    off by a random factor; in inference, an input_var of exactly zero now and then."""
    data = X.astype(np.float64).reshape(-1, 1) if X.ndim == 1 else X.astype(np.float64)
    axes = (0, *range(2, data.ndim)) if spatial else (0,)
    shape = (data.shape[1],) if spatial else data.shape[1:]
    mean, variance = (m.reshape(shape) for m in moments(data, axes))
    rng = np.random.default_rng(d("running.seed", st.integers(0, 2**32 - 1)))
    running_mean = mean + np.sqrt(variance) * rng.standard_normal(shape) * 0.5
    running_var = variance * 2.0 ** rng.uniform(-2, 2, shape)
    if not training and d("zero_input_var", st.sampled_from((False, False, False, True))):
        running_var = np.where(rng.uniform(size=shape) < 0.5, 0.0, running_var)
    return running_mean.astype(dtype), running_var.astype(dtype)


def _batch_norm_arrays(case: Case):
    X, scale, B, mean, var = case.inputs.values()
    return X, scale, B, mean, var


def _batch_norm_mode(case: Case) -> tuple[bool, bool]:
    a = case.attributes
    training = batch_normalization_is_training(case.opset, a.get("training_mode", 0), a.get("is_test", 0),
                                               len(case.outputs))
    return training, bool(a.get("spatial", 1))


def batch_normalization_features(case: Case) -> dict[str, Any]:
    """Mode, layout, types, and the statistics that decide where conventions show (variance against
    epsilon, mean against spread)."""
    X, scale, B, mean, var = _batch_norm_arrays(case)
    training, spatial = _batch_norm_mode(case)
    epsilon = case.attributes.get("epsilon", 1e-5)
    features = {**_common_features(case, X), **_channel_features(X)}
    data = X.reshape(-1, 1) if X.ndim == 1 else X
    axes = (0, *range(2, data.ndim)) if spatial else (0,)
    if training:
        features.update(_statistics_features(data, axes, epsilon))
    else:
        variance = var.astype(np.float64)
        features.update({
            "reduction_size": 0,
            "min_variance_to_epsilon": _log10_ratio(variance, epsilon),
            "max_mean_to_std": _mean_to_std(mean.astype(np.float64), variance),
            "constant_group": bool(np.any(variance == 0)),
        })
    features.update({
        "training": training,
        # opset 6's attribute (none later): 1 in test mode, 0 (its default) in training
        "is_test": int(case.attributes.get("is_test", 0)) if case.opset < 7 else None,
        "spatial": int(spatial),
        "epsilon": float(epsilon),
        "momentum": float(case.attributes.get("momentum", 0.9)),
        "parameter_dtype": str(scale.dtype),
        "statistics_dtype": str(mean.dtype),
        "mixed_dtypes": len({X.dtype, scale.dtype, mean.dtype}) > 1,
    })
    return _corner_flags(features)


def batch_normalization_bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """Bounds for Y and the running (and saved) statistics; see normalization_bounds."""
    variants = frozenset(variants)
    X, scale, B, mean_in, var_in = (a.astype(np.float64) if a is not None else None for a in _batch_norm_arrays(case))
    arrays = list(case.inputs.values())
    training, spatial = _batch_norm_mode(case)
    epsilon = float32_attribute(case.attributes.get("epsilon", 1e-5))
    momentum = float32_attribute(case.attributes.get("momentum", 0.9))
    u_x = _precision(arrays[0].dtype)
    u_n = nb.least_precise(*(a.dtype for a in arrays))
    # Opset 15: "ReduceMean and ReduceVar use float" for float16 inputs.
    u_s = min(u_x, FLOAT32_U) if case.opset >= 15 else u_x
    p = nb.Precisions(u_s, u_n, u_x)
    one_dimensional = X.ndim == 1
    if one_dimensional:
        X = X.reshape(-1, 1)
    shape = (X.shape[1],) if spatial else X.shape[1:]
    broadcast = (1, *shape) + (1,) * (X.ndim - 1 - len(shape))
    scale, B, mean_in, var_in = (a.reshape(broadcast) for a in (scale, B, mean_in, var_in))
    eps_outside = "eps_outside_sqrt" in variants
    if not training:
        stats = nb.given_statistics(mean_in, var_in)
    else:
        axes = (0, *range(2, X.ndim)) if spatial else (0,)
        stats = nb.computed_statistics(X, axes, p, ddof=1 if "unbiased_batch_variance" in variants else 0)
    r, rho = nb.inverse_std_error(stats, epsilon, p, eps_outside)
    z, z_error = nb.standardized_error(X, stats, r, rho, p)
    Y_bound = nb.affine_error(z, z_error, scale, B, p)
    bounds = [Y_bound.reshape(-1) if one_dimensional else Y_bound]
    if not training:
        return bounds
    keep, take = (1 - momentum, momentum) if "momentum_complement" in variants else (momentum, 1 - momentum)
    update = stats
    if "unbiased_running_variance" in variants and "unbiased_batch_variance" not in variants:
        update = nb.computed_statistics(X, axes, p, ddof=1)
    bounds.append(nb.running_error(mean_in, stats.mean, stats.mean_error, keep, take, p).reshape(shape))
    bounds.append(nb.running_error(var_in, update.variance, update.variance_error, keep, take, p).reshape(shape))
    if case.opset < 14:
        bounds.append(nb.rounded(stats.mean_error, stats.mean, u_x).reshape(shape))
        if "saved_inv_std" in variants:
            bounds.append(nb.rounded(r * rho, r, u_x).reshape(shape))
        else:
            bounds.append(nb.rounded(stats.variance_error, stats.variance, u_x).reshape(shape))
    return bounds[: len(case.outputs)]


BATCH_NORM_CORNERS = (
    "opset=6", "opset=7", "opset=9", "opset=14", "opset=15", "training", "training=False", "spatial=0",
    "is_test=1", "is_test=0",
    "dtype=float16", "dtype=float32", "dtype=float64", "rank=1", "rank=2", "rank=3", "rank=4", "rank=5",
    "channels_one", "batch_ne_channels", "spatial_one", "mixed_dtypes", "variance_near_epsilon",
    "variance_far_below_epsilon", "mean_far_from_zero", "small_reduction", "constant_group",
    "momentum=0.0", "momentum=1.0",
)


# --- LRN ----------------------------------------------------------------------------------------

# A large alpha and unit values first, so that shrunk counterexamples keep alpha's effect visible.
LRN_ALPHAS = (0.1, 1e-4, 1e-4, 1e-3, 1e-2, 1.0)
LRN_BETAS = (0.75, 0.75, 0.5, 1.0, 0.25, 2.0)
LRN_BIASES = (1.0, 1.0, 2.0, 0.5, 1e-2)
LRN_SCALES = {"float16": (1.0, 0.1, 4.0), "float32": (1.0, 0.1, 10.0, 100.0), "float64": (1.0, 0.1, 100.0)}


@st.composite
def lrn_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """LRN calls: sizes 1 to 9, channel counts below, at and above the size, alpha over five decades,
    2-D to 5-D."""
    d = Draws(draw, pins)
    dtype = d("dtype", float_dtypes())
    rank = d("rank", st.sampled_from((2, 3, 4, 4, 4, 5)))
    size = d("size", st.integers(1, 9))
    # Channel counts below, at and above the window, so that it is clipped at one or both edges.
    C = d("C", st.sampled_from(sorted({1, 2, max(1, size - 1), size, size + 1, size + 3, 12})))
    # N differs from C two times in three: other_than twice among the branches, as two objects, since
    # one_of keeps one of identical branches (and other_than's strategy is built once).
    N = d("N", st.one_of(other_than(C, 1, 3), other_than(C, 1, 3, built_once=False), st.just(C)))
    shape = [N, C, *_sizes(d, "spatial_sizes", rank - 2, N * C, high=6)]
    seed = d("X.seed", st.integers(0, 2**32 - 1))
    scale = d("X.scale", st.sampled_from(LRN_SCALES[dtype]))
    kind = d("X.values", st.sampled_from(("normal", "uniform", "small_integers")))
    rng = np.random.default_rng(seed)
    noise = {"normal": rng.standard_normal, "uniform": lambda s: rng.uniform(-1, 1, s)}.get(
        kind, lambda s: rng.integers(-4, 5, s).astype(np.float64))(shape)
    X = (noise * scale).astype(dtype)
    alpha, beta, bias = (float32_attribute(d(name, st.sampled_from(choices)))
                         for name, choices in (("alpha", LRN_ALPHAS), ("beta", LRN_BETAS), ("bias", LRN_BIASES)))
    attributes = _attributes(d, {"size": size, "alpha": alpha, "beta": beta, "bias": bias},
                             {"alpha": float32_attribute(1e-4), "beta": 0.75, "bias": 1.0})
    return Case("LRN", {"X": X}, attributes, draws=d.record)


def lrn_denominator_range(case: Case) -> float:
    """The largest ratio, at one (n, d1, ..., dk), between two channels' ``bias + alpha/size * square_sum``.

    A backend that slides a running sum along the channels (adding the square entering the window,
    subtracting the one leaving it, as Caffe does) carries the rounding errors of its largest sums
    into its smallest ones; this ratio says how much that can cost.
    """
    X = case.inputs["X"].astype(np.float64)
    a = case.attributes
    size = int(a["size"])
    alpha, bias = float32_attribute(a.get("alpha", 1e-4)), float32_attribute(a.get("bias", 1.0))
    t = bias + alpha / size * lrn_square_sum(X, size)
    return float((t.max(axis=1) / t.min(axis=1)).max()) if t.size else 1.0


def lrn_features(case: Case) -> dict[str, Any]:
    """Window size and parity, clipping, attributes, and the spread of the denominators along the channels."""
    X = case.inputs["X"]
    size = case.attributes["size"]
    C = X.shape[1]
    return {
        "denominator_range": lrn_denominator_range(case),
        **_common_features(case, X), **_channel_features(X),
        "size": size,
        "even_size": size % 2 == 0,
        "window_clipped_both_edges": C < size,
        "alpha": float(case.attributes.get("alpha", 1e-4)),
        "beta": float(case.attributes.get("beta", 0.75)),
        "bias": float(case.attributes.get("bias", 1.0)),
    }


def lrn_bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """A relative bound on each output (the LRN paragraph of normalization_bounds)."""
    variants = frozenset(variants)
    X = case.inputs["X"].astype(np.float64)
    a = case.attributes
    size = int(a["size"])
    alpha, beta, bias = (float32_attribute(a.get(k, v)) for k, v in (("alpha", 1e-4), ("beta", 0.75), ("bias", 1.0)))
    scaled_alpha = alpha if "alpha_not_divided_by_size" in variants else alpha / size
    t = bias + scaled_alpha * lrn_square_sum(X, size, variants)
    Y = X * np.power(t, -beta)
    return [nb.lrn_error(Y, t, size, beta, _precision(case.inputs["X"].dtype))]


LRN_CORNERS = (
    "dtype=float16", "dtype=float32", "dtype=float64", "rank=2", "rank=3", "rank=4", "rank=5",
    "size=1", "size=2", "size=3", "size=4", "size=5", "size=8", "size=9", "even_size", "even_size=False",
    "window_clipped_both_edges", "channels_one", "batch_ne_channels",
)


# --- LayerNormalization and RMSNormalization ----------------------------------------------------


def _normalized_shape_operand(d: Draws, label: str, shape: Sequence[int], axis: int) -> list[int]:
    """A shape that broadcasts to X: the normalized axes, only the last of them, or ones there."""
    normalized = list(shape[axis:])
    kind = d(f"{label}.shape", st.sampled_from(("normalized", "normalized", "last_axes", "with_ones")))
    if kind == "last_axes" and len(normalized) > 1:
        return normalized[1:]
    if kind == "with_ones":
        return [1 if i % 2 else s for i, s in enumerate(normalized)]
    return normalized


def _row_shape(d: Draws) -> tuple[list[int], int]:
    """The shape of X and the first normalized axis, for the operators that normalize trailing axes."""
    rank = d("rank", st.sampled_from((1, 2, 3, 3, 4, 5)))
    shape = _sizes(d, "shape", rank, 1, low=1, high=8 if rank > 2 else 24)
    axis = d("axis", st.integers(-rank, rank - 1))
    return shape, axis


@st.composite
def layer_normalization_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """LayerNormalization calls: any axis (negative too), Scale and B broadcast, one to three outputs."""
    d = Draws(draw, pins)
    dtype = d("dtype", float_dtypes())
    shape, axis = _row_shape(d)
    positive = axis % len(shape)
    epsilon = _epsilon(d, dtype)
    X = grouped_values(d, "X", shape, tuple(range(positive)), dtype, epsilon)
    Scale = affine_operand(d, "Scale", _normalized_shape_operand(d, "Scale", shape, positive), dtype)
    B = None
    if d("has_bias", st.booleans()):
        B_shape = _normalized_shape_operand(d, "B", shape, positive)
        B = affine_operand(d, "B", B_shape, dtype, ("offset", "offset", "zeros"))
    outputs = ("Y", "Mean", "InvStdDev")[: d("outputs", st.integers(1, 3))]
    attributes = _attributes(d, {"axis": axis, "epsilon": epsilon, "stash_type": 1},
                             {"axis": -1, "epsilon": float32_attribute(1e-5), "stash_type": 1})
    return Case("LayerNormalization", {"X": X, "Scale": Scale, "B": B}, attributes, outputs, draws=d.record,
                output_shapes={"Y": X.shape})


def _row_axes(case: Case) -> tuple[np.ndarray, tuple[int, ...]]:
    X = case.inputs["X"]
    axis = case.attributes.get("axis", -1) % X.ndim
    return X, tuple(range(axis, X.ndim))


def layer_normalization_features(case: Case) -> dict[str, Any]:
    """Axis, outputs, broadcasting, and the row statistics."""
    X, axes = _row_axes(case)
    epsilon = case.attributes.get("epsilon", 1e-5)
    return _corner_flags({
        **_common_features(case, X),
        **_statistics_features(X, axes, epsilon),
        "axis": case.attributes.get("axis", -1),
        "negative_axis": case.attributes.get("axis", -1) < 0,
        "first_normalized_axis": axes[0],
        "has_bias": case.inputs.get("B") is not None,
        "scale_broadcast": list(case.inputs["Scale"].shape) != list(X.shape[axes[0]:]),
        "epsilon": float(epsilon),
    })


def layer_normalization_bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """Bounds for Y, Mean and InvStdDev, stage one in float32 (stash_type 1)."""
    X, axes = _row_axes(case)
    p = _stash_precisions(X)
    stats = nb.computed_statistics(X, axes, p)
    r, rho = nb.inverse_std_error(stats, float32_attribute(case.attributes.get("epsilon", 1e-5)), p)
    z, z_error = nb.standardized_error(X, stats, r, rho, p)
    B = case.inputs.get("B")
    bounds = [nb.affine_error(z, z_error, case.inputs["Scale"].astype(np.float64),
                              0.0 if B is None else B.astype(np.float64), p),
              nb.rounded(stats.mean_error, stats.mean, FLOAT32_U),
              nb.rounded(r * rho, r, FLOAT32_U)]
    return bounds[: len(case.outputs)]


LAYER_NORM_CORNERS = (
    "dtype=float16", "dtype=float32", "dtype=float64", "rank=1", "rank=2", "rank=3", "rank=4", "rank=5",
    "negative_axis", "first_normalized_axis=0", "has_bias", "has_bias=False", "scale_broadcast",
    "outputs=1", "outputs=3", "variance_near_epsilon", "variance_far_below_epsilon", "mean_far_from_zero",
    "small_reduction",
)


@st.composite
def rms_normalization_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """RMSNormalization calls: any axis, scale broadcast."""
    d = Draws(draw, pins)
    dtype = d("dtype", float_dtypes())
    shape, axis = _row_shape(d)
    positive = axis % len(shape)
    epsilon = _epsilon(d, dtype)
    X = grouped_values(d, "X", shape, tuple(range(positive)), dtype, epsilon)
    scale = affine_operand(d, "scale", _normalized_shape_operand(d, "scale", shape, positive), dtype)
    attributes = _attributes(d, {"axis": axis, "epsilon": epsilon, "stash_type": 1},
                             {"axis": -1, "epsilon": float32_attribute(1e-5), "stash_type": 1})
    return Case("RMSNormalization", {"X": X, "scale": scale}, attributes, draws=d.record, output_shapes={"Y": X.shape})


def rms_normalization_features(case: Case) -> dict[str, Any]:
    """Axis, broadcasting, and the mean square against epsilon."""
    X, axes = _row_axes(case)
    epsilon = case.attributes.get("epsilon", 1e-5)
    mean_square = np.square(X.astype(np.float64)).mean(axis=axes)
    return _corner_flags({
        **_common_features(case, X),
        "reduction_size": int(np.prod([X.shape[a] for a in axes])),
        "min_variance_to_epsilon": _log10_ratio(mean_square, epsilon),
        "negative_axis": case.attributes.get("axis", -1) < 0,
        "first_normalized_axis": axes[0],
        "scale_broadcast": list(case.inputs["scale"].shape) != list(X.shape[axes[0]:]),
        "epsilon": float(epsilon),
    })


def rms_normalization_bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """A bound on Y: float32 mean of squares and reciprocal square root, then the scale."""
    X, axes = _row_axes(case)
    p = _stash_precisions(X)
    x = X.astype(np.float64)
    n = int(np.prod([X.shape[a] for a in axes]))
    mean_square = np.square(x).mean(axis=axes, keepdims=True)
    error = gamma(n + 2 + (2 if p.cast else 0), p.statistics) * mean_square + 2 * n * p.tiny_statistics
    stats = nb.Statistics(np.zeros_like(mean_square), mean_square, np.zeros_like(mean_square), error)
    r, rho = nb.inverse_std_error(stats, float32_attribute(case.attributes.get("epsilon", 1e-5)), p)
    z, z_error = nb.standardized_error(x, stats, r, rho, p)
    return [nb.affine_error(z, z_error, case.inputs["scale"].astype(np.float64), 0.0, p)]


RMS_NORM_CORNERS = (
    "dtype=float16", "dtype=float32", "dtype=float64", "rank=1", "rank=3", "rank=5", "negative_axis",
    "first_normalized_axis=0", "scale_broadcast", "variance_near_epsilon", "small_reduction",
)


# --- InstanceNormalization and GroupNormalization -----------------------------------------------


def _budget(dtype: str) -> int:
    return FLOAT16_STATISTICS_BUDGET if dtype == "float16" else INPUT_BUDGET


def _image_shape(d: Draws, C: int, ranks=(3, 3, 4, 4, 5), budget: int = INPUT_BUDGET) -> list[int]:
    rank = d("rank", st.sampled_from(ranks))
    N = d("N", other_than(C, 1, 4))
    return [N, C, *_sizes(d, "spatial_sizes", rank - 2, N * C, budget=budget)]


@st.composite
def instance_normalization_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """InstanceNormalization calls: 3-D to 5-D, N != C, C = 1, spatial size 1."""
    d = Draws(draw, pins)
    dtype = d("dtype", float_dtypes())
    C = d("C", st.integers(1, 6))
    shape = _image_shape(d, C, budget=_budget(dtype))
    epsilon = _epsilon(d, dtype)
    X = grouped_values(d, "X", shape, (0, 1), dtype, epsilon)
    scale = affine_operand(d, "scale", [C], dtype)
    B = affine_operand(d, "B", [C], dtype, ("offset", "offset", "zeros"))
    attributes = _attributes(d, {"epsilon": epsilon}, {"epsilon": float32_attribute(1e-5)})
    return Case("InstanceNormalization", {"input": X, "scale": scale, "B": B}, attributes, ("output",), draws=d.record)


def instance_normalization_features(case: Case) -> dict[str, Any]:
    """Layout and the statistics of each instance and channel."""
    X = case.inputs["input"]
    epsilon = case.attributes.get("epsilon", 1e-5)
    return _corner_flags({
        **_common_features(case, X), **_channel_features(X),
        **_statistics_features(X, tuple(range(2, X.ndim)), epsilon),
        "epsilon": float(epsilon),
    })


def instance_normalization_bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """A bound on the output: statistics per instance and channel in X's type."""
    X, scale, B = case.inputs.values()
    p = _own_precisions(X, scale, B)
    stats = nb.computed_statistics(X, tuple(range(2, X.ndim)), p)
    r, rho = nb.inverse_std_error(stats, float32_attribute(case.attributes.get("epsilon", 1e-5)), p)
    z, z_error = nb.standardized_error(X, stats, r, rho, p)
    shape = (1, -1) + (1,) * (X.ndim - 2)
    scale, B = (a.astype(np.float64).reshape(shape) for a in (scale, B))
    return [nb.affine_error(z, z_error, scale, B, p)]


IMAGE_CORNERS = (
    "dtype=float16", "dtype=float32", "dtype=float64", "rank=3", "rank=4", "rank=5", "channels_one",
    "batch_ne_channels", "spatial_one", "variance_near_epsilon", "variance_far_below_epsilon",
    "mean_far_from_zero", "small_reduction",
)


@st.composite
def group_normalization_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """GroupNormalization calls at opsets 18 (scale per group) and 21 (per channel)."""
    d = Draws(draw, pins)
    opset = d("opset", st.sampled_from((18, 21)))
    dtype = d("dtype", float_dtypes())
    num_groups = d("num_groups", st.integers(1, 4))
    C = num_groups * d("channels_per_group", st.sampled_from((1, 1, 2, 3)))
    shape = _image_shape(d, C, budget=_budget(dtype))
    epsilon = _epsilon(d, dtype)
    # One mean and spread per instance and group, so that groups (not channels) are what is normalized.
    group_axes = (0, 1) if d("channel_statistics", st.booleans()) else (0,)
    X = grouped_values(d, "X", shape, group_axes, dtype, epsilon)
    per = num_groups if opset < 21 else C
    scale = affine_operand(d, "scale", [per], dtype)
    bias = affine_operand(d, "bias", [per], dtype, ("offset", "offset", "zeros"))
    values: dict[str, Any] = {"num_groups": num_groups, "epsilon": epsilon}
    defaults: dict[str, Any] = {"epsilon": float32_attribute(1e-5)}
    if opset >= 21:
        values["stash_type"], defaults["stash_type"] = 1, 1
    attributes = _attributes(d, values, defaults)
    return Case("GroupNormalization", {"X": X, "scale": scale, "bias": bias}, attributes, opset=opset, draws=d.record,
                output_shapes={"Y": X.shape})


def _groups(case: Case) -> tuple[np.ndarray, np.ndarray]:
    X = case.inputs["X"]
    return X, X.reshape(X.shape[0], case.attributes["num_groups"], -1)


def group_normalization_features(case: Case) -> dict[str, Any]:
    """Groups, layout and the statistics of each instance and group."""
    X, grouped = _groups(case)
    epsilon = case.attributes.get("epsilon", 1e-5)
    G = case.attributes["num_groups"]
    return _corner_flags({
        **_common_features(case, X), **_channel_features(X),
        **_statistics_features(grouped, (2,), epsilon),
        "num_groups": G,
        "channels_per_group": X.shape[1] // G,
        "one_group": G == 1,
        "instance_groups": G == X.shape[1],
        "epsilon": float(epsilon),
    })


def group_normalization_bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """A bound on Y: X's type at opset 18, float32 stage one (stash_type) at 21."""
    X, grouped = _groups(case)
    scale, bias = (case.inputs[k].astype(np.float64) for k in ("scale", "bias"))
    p = _stash_precisions(X) if case.opset >= 21 else _own_precisions(X, case.inputs["scale"])
    stats = nb.computed_statistics(grouped, (2,), p)
    r, rho = nb.inverse_std_error(stats, float32_attribute(case.attributes.get("epsilon", 1e-5)), p)
    z, z_error = nb.standardized_error(grouped, stats, r, rho, p)
    C, G = X.shape[1], case.attributes["num_groups"]
    if case.opset < 21:
        scale, bias = np.repeat(scale, C // G), np.repeat(bias, C // G)
    shape = (1, -1) + (1,) * (X.ndim - 2)
    z, z_error = z.reshape(X.shape), z_error.reshape(X.shape)
    return [nb.affine_error(z, z_error, scale.reshape(shape), bias.reshape(shape), p)]


GROUP_NORM_CORNERS = IMAGE_CORNERS + ("opset=18", "opset=21", "one_group", "instance_groups", "channels_per_group=3")


# --- MeanVarianceNormalization ------------------------------------------------------------------

# MVN has no epsilon: variances are drawn as powers of ten, standard deviations from 1e-6 (where
# the 1e-9 added to them shows) to 10.
MVN_SPREAD_BASE = 1.0
MVN_VARIANCES = (-12, -10, -8, -6, -4, -2, 0, 2)


@st.composite
def mean_variance_normalization_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """MeanVarianceNormalization calls: default axes [0, 2, 3] or any subset (negative too)."""
    d = Draws(draw, pins)
    dtype = d("dtype", float_dtypes())
    rank = d("rank", st.sampled_from((2, 3, 4, 4, 4, 5)))
    C = d("C", st.integers(1, 5))
    N = d("N", other_than(C, 1, 3))
    shape = [N, C, *_sizes(d, "spatial_sizes", rank - 2, N * C, budget=_budget(dtype))]
    default_axes = rank >= 4 and d("default_axes", st.booleans())
    if default_axes:
        axes = [0, 2, 3]
    else:
        chosen = d("axes", st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True))
        negative = d("negative_axes", st.booleans())
        axes = [a - rank if negative and i % 2 == 0 else a for i, a in enumerate(chosen)]
    kept = tuple(a for a in range(rank) if a not in {x % rank for x in axes})
    if dtype == "float16" and all(shape[a % rank] == 1 for a in axes):
        # A slice of one element gives (x - x) / (0 + 1e-9), and 1e-9 is zero in float16: NaN by the
        # function body, 0 by the formula, an output no bound decides. Such slices stay rare there.
        shape[axes[0] % rank] = 2
    X = grouped_values(d, "X", shape, kept, dtype, MVN_SPREAD_BASE, MVN_VARIANCES)
    attributes = {} if default_axes and not d("explicit_defaults", st.booleans()) else {"axes": axes}
    return Case("MeanVarianceNormalization", {"X": X}, attributes, draws=d.record, output_shapes={"Y": X.shape})


def _mvn_axes(case: Case) -> tuple[np.ndarray, tuple[int, ...]]:
    X = case.inputs["X"]
    return X, tuple(sorted(a % X.ndim for a in case.attributes.get("axes", (0, 2, 3))))


def mean_variance_normalization_features(case: Case) -> dict[str, Any]:
    """Axes and the statistics of each slice, its smallest standard deviation included."""
    X, axes = _mvn_axes(case)
    _, variance = moments(X.astype(np.float64), axes)
    return _corner_flags({
        **_common_features(case, X), **_channel_features(X),
        **_statistics_features(X, axes, MVN_SPREAD_BASE),
        "min_std": float(np.sqrt(variance.min())),
        "default_axes": "axes" not in case.attributes,
        "negative_axes": any(a < 0 for a in case.attributes.get("axes", ())),
        "axes_count": len(axes),
    })


def mean_variance_normalization_bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """A bound on Y = (X - mean) / (std + 1e-9): the square root's perturbation, then a division."""
    X, axes = _mvn_axes(case)
    p = _own_precisions(X)
    stats = nb.computed_statistics(X, axes, p)
    epsilon = 0.0 if "std_without_epsilon" in frozenset(variants) else MVN_EPSILON
    r, rho = nb.inverse_std_error(stats, epsilon, p, eps_outside_sqrt=True)
    _, z_error = nb.standardized_error(X, stats, r, rho, p)
    return [z_error + 2 * p.tiny_output]


MVN_CORNERS = (
    "dtype=float16", "dtype=float32", "dtype=float64", "rank=2", "rank=3", "rank=4", "rank=5", "default_axes",
    "negative_axes", "axes_count=1", "mean_far_from_zero", "small_reduction", "channels_one",
)


# --- LpNormalization ----------------------------------------------------------------------------


@st.composite
def lp_normalization_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """LpNormalization calls: p 1 and 2, any axis, zero vectors, norms below 1e-6."""
    d = Draws(draw, pins)
    dtype = d("dtype", float_dtypes())
    rank = d("rank", st.sampled_from((1, 2, 2, 3, 4)))
    shape = _sizes(d, "shape", rank, 1, high=8 if rank > 2 else 24)
    axis = d("axis", st.integers(-rank, rank - 1))
    p = d("p", st.sampled_from((1, 2)))
    seed = d("input.seed", st.integers(0, 2**32 - 1))
    # Norms below 1e-6 too, where a floor on the norm (l2_normalize's 1e-12 on its square) shows.
    scales = {"float16": (0.25, 1.0), "float32": (1e-8, 1e-3, 1.0, 1e3), "float64": (1e-8, 1e-3, 1.0, 1e3)}[dtype]
    scale = d("input.scale", st.sampled_from(scales))
    kind = d("input.values", st.sampled_from(("normal", "uniform", "small_integers")))
    rng = np.random.default_rng(seed)
    values = {"normal": rng.standard_normal, "uniform": lambda s: rng.uniform(-1, 1, s)}.get(
        kind, lambda s: rng.integers(-4, 5, s).astype(np.float64))(shape)
    if d("zero_vectors", st.booleans()):  # whole vectors of zeros, whose output is defined as zero
        keep = rng.uniform(size=[1 if a == axis % rank else s for a, s in enumerate(shape)]) < 0.6
        values = values * keep
    X = (values * scale).astype(dtype)
    attributes = _attributes(d, {"axis": axis, "p": p}, {"axis": -1, "p": 2})
    return Case("LpNormalization", {"input": X}, attributes, ("output",), draws=d.record)


def lp_normalization_features(case: Case) -> dict[str, Any]:
    """p, axis, zero vectors, the smallest nonzero norm, signs."""
    X = case.inputs["input"]
    axis = case.attributes.get("axis", -1)
    x = X.astype(np.float64)
    p = case.attributes.get("p", 2)
    norms = np.abs(x).sum(axis=axis % X.ndim) if p == 1 else np.sqrt(np.square(x).sum(axis=axis % X.ndim))
    nonzero = norms[norms > 0]
    return {
        "min_norm": float(nonzero.min()) if nonzero.size else 0.0,
        "tiny_norm": bool(nonzero.size) and float(nonzero.min()) < 1e-6,
        **_common_features(case, X),
        "p": p,
        "axis": axis,
        "negative_axis": axis < 0,
        "reduction_size": X.shape[axis % X.ndim],
        "zero_vector": bool(np.any(norms == 0)),
        "negative_values": bool(np.any(X < 0)),
    }


def lp_normalization_bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """A relative bound: a sum of nonnegative terms (underflow counted), a square root for p = 2,
    a division."""
    X = case.inputs["input"]
    axis = case.attributes.get("axis", -1) % X.ndim
    p = case.attributes.get("p", 2)
    u, tiny, n = _precision(X.dtype), float(np.finfo(X.dtype).tiny), X.shape[axis]
    x = X.astype(np.float64)
    total = (np.abs(x) if p == 1 else np.square(x)).sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        Y = np.where(total == 0, 0.0, x / (total if p == 1 else np.sqrt(total)))
        sum_error = np.where(total == 0, 0.0, gamma(n, u) + n * tiny / total)
    return [nb.relative_error_of_quotient(sum_error, p == 2, u) * np.abs(Y) + 2 * tiny * (Y != 0)]


LP_NORM_CORNERS = (
    "dtype=float16", "dtype=float32", "dtype=float64", "rank=1", "rank=4", "p=1", "p=2", "negative_axis",
    "zero_vector", "zero_vector=False", "tiny_norm",
)


DECLARATIONS = (
    OpDeclaration(
        op_type="BatchNormalization",
        summary="batch normalization, inference and training (running statistics), opsets 6 (is_test), 7, 9, 14"
                " and 15",
        cases=batch_normalization_cases,
        tolerance=Derived(batch_normalization_bounds, "two-pass statistics and rsqrt rounding, propagated"
                                                      " (conformance.ops.normalization_bounds)"),
        features=batch_normalization_features,
        corners=BATCH_NORM_CORNERS,
    ),
    OpDeclaration(
        op_type="LRN",
        summary="local response normalization across channels, odd and even sizes",
        cases=lrn_cases,
        tolerance=Derived(lrn_bounds, "relative: sum of squares, power and product roundings"
                                      " (conformance.ops.normalization_bounds)"),
        features=lrn_features,
        corners=LRN_CORNERS,
    ),
    OpDeclaration(
        op_type="LayerNormalization",
        summary="layer normalization over the trailing axes from axis, with Mean and InvStdDev",
        cases=layer_normalization_cases,
        tolerance=Derived(layer_normalization_bounds, "float32 (stash_type) two-pass statistics, propagated"
                                                      " (conformance.ops.normalization_bounds)"),
        features=layer_normalization_features,
        corners=LAYER_NORM_CORNERS,
    ),
    OpDeclaration(
        op_type="InstanceNormalization",
        summary="instance normalization: statistics per instance and channel",
        cases=instance_normalization_cases,
        tolerance=Derived(instance_normalization_bounds, "two-pass statistics, propagated"
                                                         " (conformance.ops.normalization_bounds)"),
        features=instance_normalization_features,
        corners=IMAGE_CORNERS,
    ),
    OpDeclaration(
        op_type="GroupNormalization",
        summary="group normalization: per-group scale (opset 18) and per-channel scale (opset 21)",
        cases=group_normalization_cases,
        tolerance=Derived(group_normalization_bounds, "two-pass statistics (float32 stash from opset 21),"
                                                      " propagated (conformance.ops.normalization_bounds)"),
        features=group_normalization_features,
        corners=GROUP_NORM_CORNERS,
        checker_caveats=(CheckerCaveat(
            {"opset": 18}, "deprecated in domain_version of 18",
            "onnx 1.18+ marks GroupNormalization-18 deprecated (its per-group scale was a mistake) and its"
            " checker fails every model that uses it, though opset 18 to 20 still define it and backends run it",
            "https://github.com/onnx/onnx/pull/7939"),),
    ),
    OpDeclaration(
        op_type="MeanVarianceNormalization",
        summary="(X - mean) / (std + 1e-9) over the given axes",
        cases=mean_variance_normalization_cases,
        tolerance=Derived(mean_variance_normalization_bounds, "two-pass statistics, propagated"
                                                              " (conformance.ops.normalization_bounds)"),
        features=mean_variance_normalization_features,
        corners=MVN_CORNERS,
        checker_caveats=(CheckerCaveat(
            {"default_axes": True}, "One and only one of the attributes 'value'",
            "the function body reads Constant<value_ints = @axes>; with axes left at its default the"
            " Constant gets no value, so strict shape inference of the expanded body fails",
            "https://github.com/onnx/onnx/blob/main/onnx/defs/nn/defs.cc"),
            CheckerCaveat(
                {"dtype": ["float16", "float64"]}, "has inconsistent type",
                "the function body adds a float32 Constant (1e-9) to the standard deviation, so the expanded"
                " body is ill-typed for float16 and float64, which the schema allows",
                "https://github.com/onnx/onnx/blob/main/onnx/defs/nn/defs.cc")),
    ),
    OpDeclaration(
        op_type="LpNormalization",
        summary="division by the L1 or L2 norm along an axis; zero vectors stay zero",
        cases=lp_normalization_cases,
        tolerance=Derived(lp_normalization_bounds, "relative: a sum of n nonnegative terms, square root,"
                                                   " division (conformance.ops.normalization_bounds)"),
        features=lp_normalization_features,
        corners=LP_NORM_CORNERS,
    ),
    OpDeclaration(
        op_type="RMSNormalization",
        summary="X / sqrt(mean(X^2) + epsilon) * scale over the trailing axes from axis",
        cases=rms_normalization_cases,
        tolerance=Derived(rms_normalization_bounds, "float32 (stash_type) mean of squares and rsqrt,"
                                                    " propagated (conformance.ops.normalization_bounds)"),
        features=rms_normalization_features,
        corners=RMS_NORM_CORNERS,
    ),
)
