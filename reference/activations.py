"""Activations and the softmax family as the ONNX specification defines them, in float64.

One function per operator, named after it, with ONNX's argument names:
https://onnx.ai/onnx/operators/ (Relu, LeakyRelu, PRelu, Elu, Selu, Celu, Sigmoid, HardSigmoid,
HardSwish, Tanh, Softplus, Softsign, Gelu, Mish, ThresholdedRelu, Clip, Softmax, LogSoftmax,
Hardmax).

- Floating-point inputs (including bfloat16) are computed in float64 with numerically stable
  formulas (expm1, log1p, the max subtracted before exp); integer inputs of Relu, PRelu and Clip
  are computed exactly in their own integer type.
- A float attribute is a float32 in the model, so the defaults are the float32 values the
  schemas declare (LeakyRelu's alpha is 0.009999999776482582, not 0.01).
- Semantics that changed across opsets take ``opset``: Softmax, LogSoftmax and Hardmax coerce
  the input to 2-D around ``axis`` before opset 13 (default axis 1) and work along one axis from
  opset 13 (default axis -1); Clip reads min/max from attributes before opset 11 and from inputs
  after; PRelu's slope broadcasts like NumPy (against the last axes) from opset 7, and before it
  a 1-D slope of several values indexes channels (axis 1): a reading, since PRelu-6 describes only a
  slope of size 1 (``prelu_slope``).

Variants are the other conventions found in the wild (see ``reference.variants``). Those that
depend on the working precision (an exp that overflows, a softmax that underflows) read it from
the dtype of the input they were given: a backend computing in float32 overflows at exp(88.7).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from reference.special import erfc
from reference.variants import Reading, Variant, with_variants

# -- Attribute defaults: the float32 values the ONNX schemas declare --------------------------------

LEAKY_RELU_ALPHA = float(np.float32(0.01))
ELU_ALPHA = 1.0
SELU_ALPHA = float(np.float32(1.6732632423543772848170429916717))
SELU_GAMMA = float(np.float32(1.0507009873554804934193349852946))
CELU_ALPHA = 1.0
HARD_SIGMOID_ALPHA = float(np.float32(0.2))
HARD_SIGMOID_BETA = 0.5
HARD_SWISH_ALPHA = 1.0 / 6.0  # the spec's text says alpha = 1/6 exactly; HardSwish has no attribute
THRESHOLDED_RELU_ALPHA = 1.0

# TensorFlow's and Keras's own constants, for the variants that model them.
TF_LEAKY_RELU_ALPHA = 0.2  # tf.nn.leaky_relu(features, alpha=0.2)
KERAS_LEAKY_RELU_ALPHA = 0.3  # keras.layers.LeakyReLU(negative_slope=0.3)
TF_SELU_ALPHA = 1.6732632423543772848170429916717  # tf.nn.selu's hard-coded float64 constants
TF_SELU_SCALE = 1.0507009873554804934193349852946
GELU_TANH_COEFFICIENT = 0.044715

# -- Variants ------------------------------------------------------------------------------------

TF_DEFAULT_ALPHA = Variant(
    "tf_default_alpha",
    "an absent alpha means 0.2, the default of tf.nn.leaky_relu, not ONNX's 0.01",
    "https://www.tensorflow.org/api_docs/python/tf/nn/leaky_relu",
)
KERAS_DEFAULT_ALPHA = Variant(
    "keras_default_alpha",
    "an absent alpha means 0.3, the default negative_slope of keras.layers.LeakyReLU, not ONNX's 0.01",
    "https://keras.io/api/layers/activation_layers/leaky_relu/",
)
SLOPE_PER_CHANNEL = Variant(
    "slope_per_channel",
    "a 1-D slope indexes channels (axis 1), as in PRelu before opset 7 and PyTorch's PReLU,"
    " instead of broadcasting against the last axis",
    "https://github.com/onnx/onnx/blob/main/docs/Changelog.md#PRelu-7",
)
# PRelu before opset 7: the text describes a slope of size 1 only; a slope of several values has no
# stated layout (unidirectional broadcasting arrives with PRelu-7).
_PRELU_6_TEXT = ("PRelu-6, slope: 'If Slope is of size 1, the value is shared across different channels', and"
                 " nothing on how a slope of several values lines up with X (broadcasting arrives in PRelu-7)")
SLOPE_PER_CHANNEL_BEFORE_7 = Reading(
    "slope_per_channel_before_7",
    "before opset 7, a 1-D slope of several values holds one value per channel (X's axis 1): the text's"
    " 'channels', Caffe2's PRelu it was taken from ('1D input slope tensor', per channel), PyTorch's export"
    " and ONNX's own pytorch-converted test_PReLU_*_multiparam data (X [2, 3, 4], slope [3])",
    _PRELU_6_TEXT, "https://github.com/pytorch/pytorch/blob/v2.0.0/caffe2/operators/prelu_op.cc", default=True,
)
SLOPE_BROADCAST_BEFORE_7 = Reading(
    "slope_broadcast_before_7",
    "before opset 7, a slope that broadcasts to X by NumPy's rules does so (a 1-D slope along X's last axis,"
    " PRelu-7's rule), and only one that does not is read per channel, as onnx.reference does",
    _PRELU_6_TEXT, "https://github.com/onnx/onnx/blob/main/onnx/reference/ops/op_prelu.py",
)
ELU_ALPHA_IGNORED = Variant(
    "alpha_ignored",
    "alpha is ignored and taken as 1, as tf.nn.elu (which has no alpha) computes",
    "https://www.tensorflow.org/api_docs/python/tf/nn/elu",
)
TF_SELU_CONSTANTS = Variant(
    "tf_constants",
    "alpha and gamma are ignored: tf.nn.selu's hard-coded float64 constants are used",
    "https://www.tensorflow.org/api_docs/python/tf/nn/selu",
)
ONE_SIXTH_DEFAULT_ALPHA = Variant(
    "one_sixth_default_alpha",
    "an absent alpha means 1/6 (PyTorch's Hardsigmoid, Keras 3's hard_sigmoid: relu6(x + 3) / 6),"
    " not ONNX's 0.2",
    "https://pytorch.org/docs/stable/generated/torch.nn.Hardsigmoid.html",
)
HARD_SIGMOID_DEFAULT_ALPHA = Variant(
    "hard_sigmoid_default_alpha",
    "HardSwish computed as x * HardSigmoid(x) with HardSigmoid's default alpha 0.2 instead of 1/6",
    "https://onnx.ai/onnx/operators/onnx__HardSwish.html",
)
SOFTPLUS_EXP_OVERFLOW = Variant(
    "exp_overflow",
    "log(exp(x) + 1) evaluated as written (ONNX's own function body): exp overflows to inf in the"
    " working precision, so large inputs give inf instead of x",
    "https://github.com/onnx/onnx/blob/main/onnx/defs/math/defs.cc",
)
GELU_TANH_APPROXIMATION = Variant(
    "tanh_approximation",
    "the tanh approximation 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))) where the exact erf form is asked",
    "https://onnx.ai/onnx/operators/onnx__Gelu.html",
)
GELU_APPROXIMATE_IGNORED = Variant(
    "approximate_ignored",
    "approximate='tanh' is ignored: the exact erf form is computed",
    "https://www.tensorflow.org/api_docs/python/tf/nn/gelu",
)
THRESHOLD_INCLUSIVE = Variant(
    "threshold_inclusive",
    "inputs equal to alpha are kept (x >= alpha) instead of zeroed (x > alpha)",
)
CLIP_MIN_WINS = Variant(
    "min_wins",
    "when min > max every output is min: the lower bound is applied last, as tf.clip_by_value"
    " (minimum, then maximum) does, instead of ONNX's Min(max, Max(input, min))",
    "https://www.tensorflow.org/api_docs/python/tf/clip_by_value",
)
ONE_AXIS = Variant(
    "one_axis",
    "an opset <= 12 model computed with opset 13's definition: along the axis alone (an absent axis"
    " meaning -1) instead of over the input coerced to 2-D around the axis (an absent axis meaning 1)",
    "https://github.com/onnx/onnx/blob/main/docs/Changelog.md#Softmax-13",
)
COERCED_TO_2D = Variant(
    "coerced_to_2d",
    "an opset >= 13 model computed with opset 11's definition: over the input coerced to 2-D around"
    " the axis (an absent axis meaning 1) instead of along the axis alone (an absent axis meaning -1)",
    "https://github.com/onnx/onnx/blob/main/docs/Changelog.md#Softmax-11",
)
MAX_NOT_SUBTRACTED = Variant(
    "max_not_subtracted",
    "exp is applied to the input without subtracting its maximum first: exp overflows to inf (or"
    " every term underflows to 0) in the working precision, giving NaN, 0 or inf",
    "https://github.com/onnx/onnx/issues/2170",
)
LOG_OF_SOFTMAX = Variant(
    "log_of_softmax",
    "log(softmax(x)) computed literally: the softmax underflows to 0 in the working precision and"
    " its log gives -inf where x - max(x) is very negative",
    "https://github.com/onnx/onnx/blob/main/onnx/reference/ops/op_log_softmax.py",
)
LAST_MAXIMUM = Variant(
    "last_maximum",
    "ties go to the last maximum along the axis instead of the first",
)
EVERY_MAXIMUM = Variant(
    "every_maximum",
    "every element equal to the maximum is set to 1 (x == max(x)), not the first maximum only",
)


# -- Input handling ------------------------------------------------------------------------------


def _floating(name: str, array) -> np.ndarray:
    """``array`` as float64; a ValueError for anything that is not a real number."""
    array = np.asarray(array)
    if array.dtype.kind not in "fiu" and array.dtype.name != "bfloat16":
        raise ValueError(f"{name} must be a real tensor, got dtype {array.dtype}")
    return array.astype(np.float64)


def _is_integer(array: np.ndarray) -> bool:
    return np.asarray(array).dtype.kind in "iu"


def working_dtype(array: np.ndarray) -> np.dtype:
    """The precision a backend computes ``array``'s operator in: its own floating dtype (float32
    for integers and bfloat16, whose arithmetic backends carry out in float32)."""
    dtype = np.asarray(array).dtype
    return dtype if dtype.kind == "f" and dtype.itemsize >= 2 else np.dtype(np.float32)


def _in_precision(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``values`` rounded to ``dtype`` (inf where they overflow it, 0 where they underflow), as float64."""
    with np.errstate(over="ignore", under="ignore"):
        return values.astype(dtype).astype(np.float64)


def _attribute(name: str, value, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, (list, tuple, np.ndarray)) and np.size(value) != 1:
        raise ValueError(f"{name} must be a single float, got {value!r}")
    return float(np.asarray(value).reshape(()))


# -- Rectifiers ----------------------------------------------------------------------------------


def relu(X: np.ndarray) -> np.ndarray:
    """Y = max(0, X); integer inputs stay integers."""
    X = np.asarray(X)
    if _is_integer(X):
        return np.maximum(X, X.dtype.type(0))
    return np.maximum(_floating("X", X), 0.0)


def leaky_relu_alpha(alpha: float | None, variants: frozenset[str] = frozenset()) -> float:
    """The slope LeakyRelu applies: the attribute, else the default of the chosen convention."""
    if alpha is not None:
        return _attribute("alpha", alpha, LEAKY_RELU_ALPHA)
    if "tf_default_alpha" in variants:
        return TF_LEAKY_RELU_ALPHA
    if "keras_default_alpha" in variants:
        return KERAS_LEAKY_RELU_ALPHA
    return LEAKY_RELU_ALPHA


@with_variants(TF_DEFAULT_ALPHA, KERAS_DEFAULT_ALPHA)
def leaky_relu(X: np.ndarray, *, alpha: float | None = None, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = alpha * X where X < 0, X elsewhere (alpha defaults to 0.01)."""
    X = _floating("X", X)
    return np.where(X < 0, leaky_relu_alpha(alpha, variants) * X, X)


def prelu_slope(X_shape: Sequence[int], slope: np.ndarray, opset: int | None,
                variants: frozenset[str] = frozenset()) -> np.ndarray:
    """The slope laid out to broadcast against X (NumPy's rules, the slope's axes aligned at the end).

    From opset 7 the slope broadcasts unidirectionally to X. Under the ``slope_per_channel``
    variant, and before opset 7 by default (the reading ``slope_per_channel_before_7``), a 1-D
    slope of more than one element holds one value per channel (axis 1), as PyTorch's PReLU
    exports it. Under the reading ``slope_broadcast_before_7``, a slope that broadcasts by NumPy's
    rules does so before opset 7 too. The two part only where X's axis 1 and last axis have the
    slope's length; a slope of size 1 (the only one PRelu-6 describes) or of X's shape reads alike.
    """
    slope = np.asarray(slope)
    rank = len(X_shape)
    per_channel = "slope_per_channel" in variants or (
        opset is not None and opset < 7
        and not ("slope_broadcast_before_7" in variants and _broadcasts_to(slope.shape, X_shape)))
    if per_channel and slope.ndim == 1 and slope.size > 1 and rank >= 2:
        if slope.size != X_shape[1]:
            raise ValueError(f"a per-channel slope needs {X_shape[1]} values (X's axis 1), got {slope.size}")
        return slope.reshape((1, -1) + (1,) * (rank - 2))
    if not _broadcasts_to(slope.shape, X_shape):
        raise ValueError(f"slope of shape {list(slope.shape)} does not broadcast unidirectionally to X {list(X_shape)}")
    return slope


def _broadcasts_to(shape: Sequence[int], target: Sequence[int]) -> bool:
    """Whether ``shape`` broadcasts unidirectionally to ``target`` (NumPy's rules)."""
    return len(shape) <= len(target) and all(s in (1, t) for s, t in zip(shape[::-1], target[::-1]))


@with_variants(SLOPE_PER_CHANNEL, SLOPE_PER_CHANNEL_BEFORE_7, SLOPE_BROADCAST_BEFORE_7)
def prelu(X: np.ndarray, slope: np.ndarray, *, opset: int | None = None,
          variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = slope * X where X < 0, X elsewhere; integer inputs stay integers."""
    X, slope = np.asarray(X), np.asarray(slope)
    slope = prelu_slope(X.shape, slope, opset, variants)
    if _is_integer(X):
        if not _is_integer(slope):
            raise ValueError(f"an integer X needs an integer slope, got {slope.dtype}")
        return np.where(X < 0, X * slope, X).astype(X.dtype)
    X = _floating("X", X)
    return np.where(X < 0, _floating("slope", slope) * X, X)


def thresholded_relu_alpha(alpha: float | None) -> float:
    return _attribute("alpha", alpha, THRESHOLDED_RELU_ALPHA)


@with_variants(THRESHOLD_INCLUSIVE)
def thresholded_relu(X: np.ndarray, *, alpha: float | None = None,
                     variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = X where X > alpha, 0 elsewhere (alpha defaults to 1)."""
    X = _floating("X", X)
    alpha = thresholded_relu_alpha(alpha)
    kept = X >= alpha if "threshold_inclusive" in variants else X > alpha
    return np.where(kept, X, 0.0)


# -- Exponential units ---------------------------------------------------------------------------


def elu_alpha(alpha: float | None, variants: frozenset[str] = frozenset()) -> float:
    return 1.0 if "alpha_ignored" in variants else _attribute("alpha", alpha, ELU_ALPHA)


@with_variants(ELU_ALPHA_IGNORED)
def elu(X: np.ndarray, *, alpha: float | None = None, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = alpha * (exp(X) - 1) where X < 0, X elsewhere (alpha defaults to 1)."""
    X = _floating("X", X)
    return np.where(X < 0, elu_alpha(alpha, variants) * np.expm1(np.minimum(X, 0.0)), X)


def selu_parameters(alpha: float | None, gamma: float | None,
                    variants: frozenset[str] = frozenset()) -> tuple[float, float]:
    """(alpha, gamma) of Selu: the attributes, their float32 defaults, or TensorFlow's constants."""
    if "tf_constants" in variants:
        return TF_SELU_ALPHA, TF_SELU_SCALE
    return _attribute("alpha", alpha, SELU_ALPHA), _attribute("gamma", gamma, SELU_GAMMA)


@with_variants(TF_SELU_CONSTANTS)
def selu(X: np.ndarray, *, alpha: float | None = None, gamma: float | None = None,
         variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = gamma * (alpha * exp(X) - alpha) where X <= 0, gamma * X elsewhere."""
    X = _floating("X", X)
    alpha, gamma = selu_parameters(alpha, gamma, variants)
    return gamma * np.where(X <= 0, alpha * np.expm1(np.minimum(X, 0.0)), X)


def celu_alpha(alpha: float | None) -> float:
    alpha = _attribute("alpha", alpha, CELU_ALPHA)
    if alpha == 0:
        raise ValueError("Celu's alpha must be nonzero: the formula divides by it")
    return alpha


def celu(X: np.ndarray, *, alpha: float | None = None) -> np.ndarray:
    """Y = max(0, X) + min(0, alpha * (exp(X / alpha) - 1)) (alpha defaults to 1)."""
    X = _floating("X", X)
    alpha = celu_alpha(alpha)
    with np.errstate(over="ignore"):  # exp of a large X / alpha is inf, then clamped by min(0, .)
        negative = np.minimum(0.0, alpha * np.expm1(X / alpha))
    return np.maximum(0.0, X) + negative


def sigmoid(X: np.ndarray) -> np.ndarray:
    """Y = 1 / (1 + exp(-X)), evaluated without overflow on either side."""
    X = _floating("X", X)
    e = np.exp(-np.abs(X))  # in (0, 1]
    return np.where(X >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def hard_sigmoid_parameters(alpha: float | None, beta: float | None,
                            variants: frozenset[str] = frozenset()) -> tuple[float, float]:
    if alpha is None and "one_sixth_default_alpha" in variants:
        return 1.0 / 6.0, _attribute("beta", beta, HARD_SIGMOID_BETA)
    return _attribute("alpha", alpha, HARD_SIGMOID_ALPHA), _attribute("beta", beta, HARD_SIGMOID_BETA)


@with_variants(ONE_SIXTH_DEFAULT_ALPHA)
def hard_sigmoid(X: np.ndarray, *, alpha: float | None = None, beta: float | None = None,
                 variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = max(0, min(1, alpha * X + beta)) (alpha defaults to 0.2, beta to 0.5)."""
    X = _floating("X", X)
    alpha, beta = hard_sigmoid_parameters(alpha, beta, variants)
    return np.clip(alpha * X + beta, 0.0, 1.0)


def hard_swish_alpha(variants: frozenset[str] = frozenset()) -> float:
    return HARD_SIGMOID_ALPHA if "hard_sigmoid_default_alpha" in variants else HARD_SWISH_ALPHA


@with_variants(HARD_SIGMOID_DEFAULT_ALPHA)
def hard_swish(X: np.ndarray, *, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = X * max(0, min(1, X / 6 + 1/2)) (alpha = 1/6 and beta = 0.5 exactly)."""
    X = _floating("X", X)
    return X * np.clip(hard_swish_alpha(variants) * X + 0.5, 0.0, 1.0)


def tanh(input: np.ndarray) -> np.ndarray:  # noqa: A002 - ONNX's name for the input
    """Y = tanh(input)."""
    return np.tanh(_floating("input", input))


@with_variants(SOFTPLUS_EXP_OVERFLOW)
def softplus(X: np.ndarray, *, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = ln(exp(X) + 1), as max(X, 0) + log1p(exp(-|X|)) so that it neither overflows nor cancels."""
    dtype = working_dtype(X)
    X = _floating("X", X)
    Y = np.maximum(X, 0.0) + np.log1p(np.exp(-np.abs(X)))
    if "exp_overflow" in variants:
        overflows = np.isinf(_in_precision(np.exp(np.minimum(X, 1000.0)), dtype))
        Y = np.where(overflows, np.inf, Y)
    return Y


def softsign(input: np.ndarray) -> np.ndarray:  # noqa: A002 - ONNX's name for the input
    """Y = input / (1 + |input|)."""
    X = _floating("input", input)
    return X / (1.0 + np.abs(X))


def gelu_exact(X: np.ndarray) -> np.ndarray:
    """0.5 * X * (1 + erf(X / sqrt(2))), as 0.5 * X * erfc(-X / sqrt(2)) so that negative X do not cancel."""
    return 0.5 * X * erfc(-X / math.sqrt(2.0))


def gelu_tanh(X: np.ndarray) -> np.ndarray:
    """0.5 * X * (1 + tanh(sqrt(2/pi) * (X + 0.044715 * X^3))), as X * sigmoid(2t) to avoid cancellation."""
    t = math.sqrt(2.0 / math.pi) * (X + GELU_TANH_COEFFICIENT * X**3)
    return X * sigmoid(2.0 * t)


def gelu_uses_tanh(approximate: str | None, variants: frozenset[str] = frozenset()) -> bool:
    """Whether Gelu computes its tanh approximation, under the chosen convention."""
    approximate = "none" if approximate is None else approximate
    if approximate not in ("none", "tanh"):
        raise ValueError(f"Gelu's approximate must be 'none' or 'tanh', not {approximate!r}")
    if "tanh_approximation" in variants:
        return True
    if "approximate_ignored" in variants:
        return False
    return approximate == "tanh"


@with_variants(GELU_TANH_APPROXIMATION, GELU_APPROXIMATE_IGNORED)
def gelu(X: np.ndarray, *, approximate: str | None = None, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = 0.5 * X * (1 + erf(X / sqrt(2))), or its tanh approximation when approximate='tanh'."""
    X = _floating("X", X)
    with np.errstate(over="ignore"):  # X^3 of a large X overflows harmlessly: sigmoid saturates
        return gelu_tanh(X) if gelu_uses_tanh(approximate, variants) else gelu_exact(X)


def mish(X: np.ndarray) -> np.ndarray:
    """Y = X * tanh(softplus(X))."""
    X = _floating("X", X)
    return X * np.tanh(softplus(X))


# -- Clip ----------------------------------------------------------------------------------------


def _bound(name: str, value, integer_dtype: np.dtype | None):
    """A Clip bound as a Python scalar: an attribute (before opset 11) or a 0-d input tensor."""
    if value is None:
        return None
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"Clip's {name} must be a scalar, got shape {list(value.shape)}")
    value = value.reshape(())
    if integer_dtype is not None:
        if not _is_integer(value):
            raise ValueError(f"Clip's {name} must have the input's integer type, got {value.dtype}")
        return int(value)
    return float(value.astype(np.float64))


@with_variants(CLIP_MIN_WINS)
def clip(input: np.ndarray, min=None, max=None, *, opset: int | None = None,  # noqa: A002 - ONNX's names
         variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = Min(max, Max(input, min)): every input limited to [min, max]; an absent bound does not limit.

    When min > max every output is max (opset 13's text). Integer inputs stay integers.
    """
    X = np.asarray(input)
    integer = X.dtype if _is_integer(X) else None
    low, high = _bound("min", min, integer), _bound("max", max, integer)
    Y = X.copy() if integer is not None else _floating("input", X)
    if "min_wins" in variants:
        if high is not None:
            Y = np.minimum(Y, high)
        if low is not None:
            Y = np.maximum(Y, low)
    else:
        if low is not None:
            Y = np.maximum(Y, low)
        if high is not None:
            Y = np.minimum(Y, high)
    return Y.astype(integer) if integer is not None else Y


# -- The softmax family --------------------------------------------------------------------------


def normalized_axis(axis: int | None, rank: int, opset: int | None) -> int:
    """The axis a softmax-family operator names, in [0, rank): default 1 before opset 13, -1 after."""
    if axis is None:
        axis = 1 if opset is not None and opset < 13 else -1
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for an input of rank {rank} (accepted: [{-rank}, {rank - 1}])")
    return axis % rank


def semantics_opset(opset: int | None, variants: frozenset[str] = frozenset()) -> int:
    """The opset whose softmax-family definition a computation follows: the model's own, or, under
    ``one_axis`` / ``coerced_to_2d``, the other definition (with that definition's default axis)."""
    old = opset is not None and opset < 13
    if old and "one_axis" in variants:
        return 13
    if not old and "coerced_to_2d" in variants:
        return 11
    return 13 if opset is None else opset


def rows(X: np.ndarray, axis: int, coerce: bool) -> tuple[np.ndarray, tuple[int, ...]]:
    """X laid out as (outer, n, inner) so that each [o, :, i] is one row to normalize.

    Coerced: the 2-D view [prod(shape[:axis]), prod(shape[axis:])]; else the axis alone.
    """
    shape = X.shape
    outer = int(np.prod(shape[:axis]))
    if coerce:
        return X.reshape(outer, int(np.prod(shape[axis:])), 1), shape
    return X.reshape(outer, shape[axis], int(np.prod(shape[axis + 1:]))), shape


def softmax_rows(X: np.ndarray, axis: int | None, opset: int | None,
                 variants: frozenset[str] = frozenset()) -> tuple[np.ndarray, tuple[int, ...], np.ndarray]:
    """(the input as rows (outer, n, inner), its shape, the rows' maxima) for the softmax family,
    under the definition of the model's opset (or the other one, under a variant)."""
    if X.ndim == 0:
        raise ValueError("the softmax family needs an input of rank >= 1")
    opset = semantics_opset(opset, variants)
    axis = normalized_axis(axis, X.ndim, opset)
    R, shape = rows(X, axis, opset < 13)
    if R.shape[1] == 0:
        raise ValueError("the softmax family needs a non-empty axis")
    return R, shape, R.max(axis=1, keepdims=True)


def naive_exp_sums(R: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """exp(R) and its row sums as a backend computing in ``dtype`` without subtracting the max
    gets them: inf where exp overflows ``dtype``, 0 (or subnormal) where it underflows."""
    with np.errstate(over="ignore", under="ignore"):
        E = _in_precision(np.exp(np.minimum(R, 1000.0)), dtype)
        return E, _in_precision(E.sum(axis=1, keepdims=True), dtype)


@with_variants(ONE_AXIS, COERCED_TO_2D, MAX_NOT_SUBTRACTED)
def softmax(input: np.ndarray, *, axis: int | None = None, opset: int | None = None,  # noqa: A002
            variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = exp(input) / sum(exp(input)) along ``axis`` (opset >= 13) or over the 2-D coercion (opset < 13)."""
    dtype = working_dtype(input)
    R, shape, M = softmax_rows(_floating("input", input), axis, opset, variants)
    if "max_not_subtracted" in variants:
        E, S = naive_exp_sums(R, dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (E / S).reshape(shape)
    E = np.exp(R - M)
    return (E / E.sum(axis=1, keepdims=True)).reshape(shape)


@with_variants(ONE_AXIS, COERCED_TO_2D, MAX_NOT_SUBTRACTED, LOG_OF_SOFTMAX)
def log_softmax(input: np.ndarray, *, axis: int | None = None, opset: int | None = None,  # noqa: A002
                variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = input - max - log(sum(exp(input - max))) along the axis (or the 2-D coercion before opset 13)."""
    dtype = working_dtype(input)
    R, shape, M = softmax_rows(_floating("input", input), axis, opset, variants)
    with np.errstate(invalid="ignore", divide="ignore"):
        if "max_not_subtracted" in variants:
            _, S = naive_exp_sums(R, dtype)
            return (R - np.log(S)).reshape(shape)
        D = R - M
        E = np.exp(D)
        S = E.sum(axis=1, keepdims=True)
        if "log_of_softmax" in variants:
            return np.log(_in_precision(E / S, dtype)).reshape(shape)
        # log S = log1p(sum of the terms other than one maximum's e^0 = 1): accurate when S is near 1.
        others = S - 1 if R.shape[1] == 1 else _sum_without_first_maximum(E, R, M)
        return (D - np.log1p(others)).reshape(shape)


def _sum_without_first_maximum(E: np.ndarray, R: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Row sums of E leaving out the (first) maximum's term, which is exactly 1."""
    first = np.argmax(R == M, axis=1)[:, None, :]
    keep = np.arange(R.shape[1])[None, :, None] != first
    return np.where(keep, E, 0.0).sum(axis=1, keepdims=True)


@with_variants(ONE_AXIS, COERCED_TO_2D, LAST_MAXIMUM, EVERY_MAXIMUM)
def hardmax(input: np.ndarray, *, axis: int | None = None, opset: int | None = None,  # noqa: A002
            variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Y = 1 at the first maximum along the axis (or the 2-D coercion before opset 13), 0 elsewhere."""
    R, shape, M = softmax_rows(_floating("input", input), axis, opset, variants)
    if "every_maximum" in variants:
        return (R == M).astype(np.float64).reshape(shape)
    n = R.shape[1]
    first = np.argmax(R[:, ::-1, :], axis=1) if "last_maximum" in variants else np.argmax(R, axis=1)
    if "last_maximum" in variants:
        first = n - 1 - first
    Y = (np.arange(n)[None, :, None] == first[:, None, :]).astype(np.float64)
    return Y.reshape(shape)


OPERATORS = {
    "Relu": relu,
    "LeakyRelu": leaky_relu,
    "PRelu": prelu,
    "Elu": elu,
    "Selu": selu,
    "Celu": celu,
    "Sigmoid": sigmoid,
    "HardSigmoid": hard_sigmoid,
    "HardSwish": hard_swish,
    "Tanh": tanh,
    "Softplus": softplus,
    "Softsign": softsign,
    "Gelu": gelu,
    "Mish": mish,
    "ThresholdedRelu": thresholded_relu,
    "Clip": clip,
    "Softmax": softmax,
    "LogSoftmax": log_softmax,
    "Hardmax": hardmax,
}
