"""The normalization operators as the ONNX specification defines them, in float64.

- BatchNormalization: https://onnx.ai/onnx/operators/onnx__BatchNormalization.html (versions 1, 6,
  7, 9, 14 and 15 on the same page)
- LRN: https://onnx.ai/onnx/operators/onnx__LRN.html
- LayerNormalization: https://onnx.ai/onnx/operators/onnx__LayerNormalization.html
- InstanceNormalization: https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html
- GroupNormalization (18: scale and bias per group; 21: per channel):
  https://onnx.ai/onnx/operators/onnx__GroupNormalization.html
- MeanVarianceNormalization: https://onnx.ai/onnx/operators/onnx__MeanVarianceNormalization.html
- LpNormalization: https://onnx.ai/onnx/operators/onnx__LpNormalization.html
- RMSNormalization: https://onnx.ai/onnx/operators/onnx__RMSNormalization.html

Statistics are exact (float64, two-pass): the mean, then the mean of squared deviations, the
population variance (divided by n, never n - 1). ONNX stores float attributes (epsilon, momentum,
alpha, beta, bias) as 32-bit floats, so the functions read them as float32 values: what a backend
reads from the model. ``stash_type`` says in which precision a backend must compute; the exact
result does not depend on it, only the error bound does (``conformance.ops.normalization_bounds``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from reference.variants import Reading, Variant, with_variants

EPS_OUTSIDE_SQRT = Variant(
    "eps_outside_sqrt",
    "epsilon added to the standard deviation instead of the variance: (x - mean) / (sqrt(var) + eps) (CNTK)",
    "https://github.com/keras-team/keras/pull/10427",
)
MOMENTUM_COMPLEMENT = Variant(
    "momentum_complement",
    "momentum weighs the batch statistic: running = running * (1 - momentum) + batch * momentum (PyTorch)",
    "https://github.com/pytorch/pytorch/issues/40074",
)
UNBIASED_BATCH_VARIANCE = Variant(
    "unbiased_batch_variance",
    "the batch variance divides by n - 1 (sample variance), to normalize and to update the running variance"
    " (tiny-dnn's batch normalization moments)",
    "https://github.com/uxlfoundation/oneDNN/issues/517",
)
UNBIASED_RUNNING_VARIANCE = Variant(
    "unbiased_running_variance",
    "normalizes with the population variance but updates the running variance with the sample (n - 1)"
    " variance (PyTorch, TensorFlow's fused_batch_norm)",
    "https://github.com/pytorch/pytorch/issues/3122",
)
SAVED_INV_STD = Variant(
    "saved_inv_std",
    "before opset 14, the saved_var output holds 1 / sqrt(batch variance + epsilon) instead of the batch"
    " variance (Caffe2's SpatialBN, onnxruntime)",
    "https://github.com/microsoft/onnxruntime/blob/main/onnxruntime/core/providers/cpu/nn/batch_norm.h",
)
ALPHA_NOT_DIVIDED_BY_SIZE = Variant(
    "alpha_not_divided_by_size",
    "alpha multiplies the sum of squares itself, not alpha / size (TensorFlow's local_response_normalization)",
    "https://github.com/onnx/tensorflow-onnx/pull/602",
)
WINDOW_TORCH_EVEN = Variant(
    "window_torch_even",
    "for an even size, the channel window is [c - size/2, c + size/2 - 1] (PyTorch) instead of"
    " [c - size/2 + 1, c + size/2]",
    "https://github.com/pytorch/pytorch/issues/75722",
)
# The operator's text and its function body give two formulas: readings, not a wrong convention.
_MVN_TEXT = ("doc: 'using formula: `(X-EX)/sqrt(E(X-EX)^2)`'; function body: Div(X - EX, Add(Sqrt(Variance),"
             " Constant(1e-9)))")
STD_PLUS_EPSILON = Reading(
    "std_plus_epsilon",
    "divides by the standard deviation plus 1e-9, as the function body does (onnx.reference, ONNX's test data"
    " test_mvn): a constant slice gives 0",
    _MVN_TEXT, "https://github.com/onnx/onnx/blob/main/onnx/defs/nn/defs.cc", default=True,
)
STD_WITHOUT_EPSILON = Reading(
    "std_without_epsilon",
    "divides by the standard deviation alone, as the doc string's formula says, which onnxruntime's kernel"
    " follows (a constant slice gives 0/0)",
    _MVN_TEXT,
    "https://github.com/microsoft/onnxruntime/blob/main/onnxruntime/core/providers/cpu/tensor/mean_variance_normalization.cc",
)
BATCH_NORM_VARIANTS = (
    EPS_OUTSIDE_SQRT, MOMENTUM_COMPLEMENT, UNBIASED_BATCH_VARIANCE, UNBIASED_RUNNING_VARIANCE, SAVED_INV_STD,
)
LRN_VARIANTS = (ALPHA_NOT_DIVIDED_BY_SIZE, WINDOW_TORCH_EVEN)

# MeanVarianceNormalization's function body adds this constant to the standard deviation.
MVN_EPSILON = float(np.float32(1e-9))


def float32_attribute(value: float) -> float:
    """A float attribute as the model stores it: a 32-bit float."""
    return float(np.float32(value))


def _float64(name: str, array: np.ndarray | None) -> np.ndarray:
    if array is None:
        raise ValueError(f"{name} is required")
    array = np.asarray(array)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    return array.astype(np.float64)


def _axis(axis: int, rank: int, name: str = "axis") -> int:
    if not -rank <= axis < rank:
        raise ValueError(f"{name} {axis} is out of range for a tensor of rank {rank}")
    return axis % rank


def moments(X: np.ndarray, axes: Sequence[int], ddof: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance (divided by n - ddof) over ``axes``, kept as size-1 axes; two-pass, float64."""
    axes = tuple(axes)
    mean = X.mean(axis=axes, keepdims=True)
    count = int(np.prod([X.shape[a] for a in axes])) if axes else 1
    if count - ddof <= 0:
        raise ValueError(f"a variance over {count} value(s) with ddof={ddof} is undefined")
    variance = np.square(X - mean).sum(axis=axes, keepdims=True) / (count - ddof)
    return mean, variance


def inverse_std(variance: np.ndarray, epsilon: float, eps_outside_sqrt: bool = False) -> np.ndarray:
    """1 / sqrt(variance + epsilon), or 1 / (sqrt(variance) + epsilon) for the CNTK variant."""
    if eps_outside_sqrt:
        return 1.0 / (np.sqrt(variance) + epsilon)
    return 1.0 / np.sqrt(variance + epsilon)


def _channel_shaped(name: str, array: np.ndarray | None, X: np.ndarray, spatial: bool) -> np.ndarray:
    """A per-channel (spatial) or per-activation (C x D1 x ... x Dn) operand, broadcastable to X."""
    array = _float64(name, array)
    expected = (X.shape[1],) if spatial else X.shape[1:]
    if array.shape != expected:
        raise ValueError(f"{name} must have shape {list(expected)}, got {list(array.shape)}")
    return array.reshape(expected + (1,) * (X.ndim - 1 - len(expected)))


def batch_normalization_is_training(opset: int, training_mode: int, is_test: int, output_count: int) -> bool:
    """Whether a BatchNormalization node runs in training mode.

    From opset 14 the ``training_mode`` attribute says so; opsets 7 to 13 have no attribute and
    list five outputs (Y, mean, var, saved_mean, saved_var) in training and one in inference;
    opsets 1 and 6 have ``is_test`` (default 0: training).
    """
    if opset >= 14:
        return bool(training_mode)
    if opset >= 7:
        return output_count > 1
    return not is_test


@with_variants(*BATCH_NORM_VARIANTS)
def batch_normalization(
    X: np.ndarray,
    scale: np.ndarray,
    B: np.ndarray,
    input_mean: np.ndarray,
    input_var: np.ndarray,
    *,
    epsilon: float = 1e-5,
    momentum: float = 0.9,
    training_mode: int = 0,
    spatial: int = 1,
    is_test: int = 0,
    consumed_inputs: Sequence[int] | None = None,
    opset: int = 15,
    output_count: int = 1,
    variants: frozenset[str] = frozenset(),
) -> tuple[np.ndarray, ...]:
    """Y = (X - mean) / sqrt(var + epsilon) * scale + B, with the batch's statistics in training mode.

    Inference: mean and var are the inputs. Training: mean and var are the batch's, over every
    axis but the channel axis (over N alone for opset 7's spatial=0); the outputs follow with
    ``running = input * momentum + batch * (1 - momentum)``: (Y, running_mean, running_var) from
    opset 14, (Y, mean, var, saved_mean, saved_var) before (saved_* are the batch statistics).
    A 1-D X (opset 9 on) is N values of a single channel.
    """
    del consumed_inputs  # a legacy optimization hint of opset 1, without effect on the values
    X = _float64("X", X)
    if X.ndim == 1:
        if opset < 9:
            raise ValueError(f"BatchNormalization-{opset} needs X of rank >= 2, got shape {list(X.shape)}")
        X = X.reshape(-1, 1)
        result = batch_normalization(X, scale, B, input_mean, input_var, epsilon=epsilon, momentum=momentum,
                                     training_mode=training_mode, opset=opset, output_count=output_count, variants=variants)
        return (result[0].reshape(-1), *result[1:])
    if X.ndim < 2:
        raise ValueError(f"X must have rank >= 1, got shape {list(X.shape)}")
    if not spatial and opset >= 9:
        raise ValueError(f"BatchNormalization-{opset} has no spatial attribute (removed in opset 9)")
    spatial = bool(spatial)
    epsilon, momentum = float32_attribute(epsilon), float32_attribute(momentum)
    scale, B, input_mean, input_var = (
        _channel_shaped(name, array, X, spatial)
        for name, array in (("scale", scale), ("B", B), ("input_mean", input_mean), ("input_var", input_var))
    )
    eps_outside = "eps_outside_sqrt" in variants
    if not batch_normalization_is_training(opset, training_mode, is_test, output_count):
        return (scale * (X - input_mean) * inverse_std(input_var, epsilon, eps_outside) + B,)

    axes = (0, *range(2, X.ndim)) if spatial else (0,)
    mean, population_var = moments(X, axes)
    count = X.size // X.shape[1] if spatial else X.shape[0]
    sample_var = population_var * count / (count - 1) if count > 1 else np.full_like(population_var, np.nan)
    unbiased_batch = "unbiased_batch_variance" in variants
    if unbiased_batch and count < 2:
        raise ValueError("a sample variance needs at least two values per channel")
    normalizing_var = sample_var if unbiased_batch else population_var
    Y = scale * (X - mean) * inverse_std(normalizing_var, epsilon, eps_outside) + B
    if "unbiased_running_variance" in variants and not unbiased_batch:
        if count < 2:
            raise ValueError("a sample variance needs at least two values per channel")
        running_update_var = sample_var
    else:
        running_update_var = normalizing_var
    keep, take = (1 - momentum, momentum) if "momentum_complement" in variants else (momentum, 1 - momentum)
    running_mean = input_mean * keep + mean * take
    running_var = input_var * keep + running_update_var * take
    shape = (X.shape[1],) if spatial else X.shape[1:]
    statistics = [running_mean.reshape(shape), running_var.reshape(shape)]
    if opset >= 14:
        return (Y, *statistics)
    if "saved_inv_std" in variants:
        saved_var = inverse_std(normalizing_var, epsilon, eps_outside)
    else:
        saved_var = normalizing_var
    return (Y, *statistics, mean.reshape(shape), saved_var.reshape(shape))


def lrn_window(size: int, variants: frozenset[str] = frozenset()) -> tuple[int, int]:
    """How many channels before and after channel c the LRN window reaches.

    ONNX: ``[c - floor((size-1)/2), c + ceil((size-1)/2)]``; PyTorch's even sizes
    (window_torch_even): ``[c - size/2, c + size/2 - 1]``.
    """
    if "window_torch_even" in variants:
        return size // 2, (size - 1) // 2
    return (size - 1) // 2, size // 2


@with_variants(*LRN_VARIANTS)
def lrn(
    X: np.ndarray,
    *,
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,
    bias: float = 1.0,
    variants: frozenset[str] = frozenset(),
) -> np.ndarray:
    """Y = X / (bias + alpha / size * square_sum) ** beta, the squares summed over a window of channels
    clipped at the channel edges."""
    X = _float64("X", X)
    if X.ndim < 2:
        raise ValueError(f"X must have rank >= 2 (N, C, ...), got shape {list(X.shape)}")
    if int(size) < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    size = int(size)
    alpha, beta, bias = (float32_attribute(v) for v in (alpha, beta, bias))
    square_sum = lrn_square_sum(X, size, variants)
    scaled_alpha = alpha if "alpha_not_divided_by_size" in variants else alpha / size
    return X * np.power(bias + scaled_alpha * square_sum, -beta)


def lrn_square_sum(X: np.ndarray, size: int, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """The sum of X**2 over each element's window of channels (zeros beyond the edges), in float64."""
    before, after = lrn_window(size, variants)
    padded = np.pad(np.square(X), [(0, 0), (before, after)] + [(0, 0)] * (X.ndim - 2))
    windows = np.lib.stride_tricks.sliding_window_view(padded, size, axis=1)  # (N, C, ..., size)
    return windows.sum(axis=-1)


def _stash_checked(stash_type: int) -> None:
    # The statistics outputs (type U) may only be float or bfloat16; the exact value does not depend on it.
    if stash_type not in (1, 16):
        raise ValueError(f"stash_type must be 1 (float) or 16 (bfloat16), got {stash_type}")


def layer_normalization(
    X: np.ndarray,
    Scale: np.ndarray,
    B: np.ndarray | None = None,
    *,
    axis: int = -1,
    epsilon: float = 1e-5,
    stash_type: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Y, Mean, InvStdDev): X standardized over axes [axis, ..., rank-1], then * Scale + B.

    Mean and InvStdDev keep the normalized axes with size 1. Scale and B broadcast to X
    (unidirectionally).
    """
    X, Scale = _float64("X", X), _float64("Scale", Scale)
    _stash_checked(stash_type)
    axis = _axis(axis, X.ndim)
    mean, variance = moments(X, range(axis, X.ndim))
    inv_std_dev = inverse_std(variance, float32_attribute(epsilon))
    Y = (X - mean) * inv_std_dev * _broadcast("Scale", Scale, X)
    if B is not None:
        Y = Y + _broadcast("B", _float64("B", B), X)
    return Y, mean, inv_std_dev


def _broadcast(name: str, operand: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``operand``, checked to broadcast unidirectionally to X's shape."""
    try:
        if np.broadcast_shapes(operand.shape, X.shape) != X.shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"{name} of shape {list(operand.shape)} does not broadcast to X's {list(X.shape)}") from None
    return operand


def instance_normalization(input: np.ndarray, scale: np.ndarray, B: np.ndarray, *, epsilon: float = 1e-5,
                           consumed_inputs: Sequence[int] | None = None) -> np.ndarray:
    """output = scale * (x - mean) / sqrt(var + epsilon) + B, statistics per instance and channel."""
    del consumed_inputs
    X = _float64("input", input)
    if X.ndim < 3:
        raise ValueError(f"input must have rank >= 3 (N, C, D1, ...), got shape {list(X.shape)}")
    scale, B = (_channel_shaped(name, a, X, spatial=True) for name, a in (("scale", scale), ("B", B)))
    mean, variance = moments(X, range(2, X.ndim))
    return scale * (X - mean) * inverse_std(variance, float32_attribute(epsilon)) + B


def group_normalization(
    X: np.ndarray,
    scale: np.ndarray,
    bias: np.ndarray,
    *,
    num_groups: int,
    epsilon: float = 1e-5,
    stash_type: int = 1,
    opset: int = 21,
) -> np.ndarray:
    """Y = scale * (x - mean) / sqrt(var + epsilon) + bias, statistics per instance and group of channels.

    Opset 18: scale and bias hold one value per group; opset 21: one per channel.
    """
    X = _float64("X", X)
    _stash_checked(stash_type)
    if X.ndim < 2:
        raise ValueError(f"X must have rank >= 2 (N, C, ...), got shape {list(X.shape)}")
    N, C = X.shape[:2]
    if num_groups < 1 or C % num_groups:
        raise ValueError(f"num_groups ({num_groups}) must divide the number of channels ({C})")
    grouped = X.reshape(N, num_groups, -1)
    mean, variance = moments(grouped, (2,))
    normalized = ((grouped - mean) * inverse_std(variance, float32_attribute(epsilon))).reshape(X.shape)
    per = num_groups if opset < 21 else C
    scale, bias = (_float64(name, a) for name, a in (("scale", scale), ("bias", bias)))
    for name, operand in (("scale", scale), ("bias", bias)):
        if operand.shape != (per,):
            unit = "group" if opset < 21 else "channel"
            raise ValueError(f"GroupNormalization-{opset} takes one {name} per {unit}: shape [{per}],"
                             f" got {list(operand.shape)}")
    if opset < 21:  # channel c belongs to group c // (C / num_groups)
        scale, bias = np.repeat(scale, C // num_groups), np.repeat(bias, C // num_groups)
    shape = (C,) + (1,) * (X.ndim - 2)
    return scale.reshape(shape) * normalized + bias.reshape(shape)


@with_variants(STD_PLUS_EPSILON, STD_WITHOUT_EPSILON)
def mean_variance_normalization(X: np.ndarray, *, axes: Sequence[int] = (0, 2, 3),
                                variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = (X - E[X]) / (sqrt(E[(X - E[X])^2]) + 1e-9), the moments over ``axes``.

    The 1e-9 added to the standard deviation is the operator's function body's, which ONNX's own
    test data follows (test_mvn); the doc string's formula leaves it out, and is declared as the
    alternative reading ``std_without_epsilon``.
    """
    X = _float64("X", X)
    normalized = [_axis(int(a), X.ndim, "axes") for a in axes]
    if not normalized or len(set(normalized)) != len(normalized):
        raise ValueError(f"axes must name distinct axes of X, got {list(axes)}")
    axes = normalized
    mean, variance = moments(X, axes)
    epsilon = 0.0 if "std_without_epsilon" in variants else MVN_EPSILON
    with np.errstate(invalid="ignore", divide="ignore"):
        return (X - mean) / (np.sqrt(variance) + epsilon)


def lp_normalization(input: np.ndarray, *, axis: int = -1, p: int = 2) -> np.ndarray:
    """output = input / ||input||_p along ``axis`` (p = 1 or 2); zero where the norm is zero."""
    X = _float64("input", input)
    axis = _axis(axis, X.ndim)
    if p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p}")
    norm = np.abs(X).sum(axis=axis, keepdims=True) if p == 1 else np.sqrt(np.square(X).sum(axis=axis, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm == 0, 0.0, X / norm)


def rms_normalization(X: np.ndarray, scale: np.ndarray, *, axis: int = -1, epsilon: float = 1e-5,
                      stash_type: int = 1) -> np.ndarray:
    """Y = X / sqrt(mean(X^2 over axes [axis, ..., rank-1]) + epsilon) * scale."""
    X, scale = _float64("X", X), _float64("scale", scale)
    _stash_checked(stash_type)
    axis = _axis(axis, X.ndim)
    mean_square = np.square(X).mean(axis=tuple(range(axis, X.ndim)), keepdims=True)
    return X * inverse_std(mean_square, float32_attribute(epsilon)) * _broadcast("scale", scale, X)


OPERATORS = {
    "BatchNormalization": batch_normalization,
    "LRN": lrn,
    "LayerNormalization": layer_normalization,
    "InstanceNormalization": instance_normalization,
    "GroupNormalization": group_normalization,
    "MeanVarianceNormalization": mean_variance_normalization,
    "LpNormalization": lp_normalization,
    "RMSNormalization": rms_normalization,
}
