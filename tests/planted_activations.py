"""Backends for the activation family's self-tests: planted bugs that must be caught, benign ones that must pass.

``ObviousNumpy`` computes every operator of the family the obvious way, in the input's own dtype
with NumPy (float32 arithmetic for float32 cases): each formula as the ONNX text writes it
(exp(x) - 1, log(1 + exp(x)), 1 + erf, the max subtracted before a softmax), guarded only where the
formula as written overflows. ``StableNumpy`` computes the same in the input's dtype with the
rewritings careful libraries use (expm1, log1p, erfc, x - (max + log sum) as PyTorch orders it, a
reciprocal then a product). Both are correct and must pass within the derived bounds.

Each planted bug is a subclass of ``ObviousNumpy`` that gets one operator wrong the way a backend
or converter would (a framework's default slope, a softmax without the max subtracted, the tanh
approximation of GELU, opset 13's softmax on an opset 11 model, ...), written independently of the
reference's variants, so that the diagnosis is tested against another implementation. They are
ordinary plug-ins: ``conformance certify LeakyRelu --backend tests.planted_activations:LeakyReluTensorFlowDefault``.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from conformance.case import Case

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
# An absent float attribute means the schema's default, a float32: LeakyRelu's 0.01 is 0.009999999776482582.
F32_0_01, F32_0_2 = float(np.float32(0.01)), float(np.float32(0.2))
SELU_ALPHA, SELU_GAMMA = float(np.float32(1.6732632423543772)), float(np.float32(1.0507009873554805))


def _erf_in(dtype, x: np.ndarray) -> np.ndarray:
    """erf correctly rounded to ``dtype`` (a library erf of half an ulp)."""
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(dtype)


def _erfc_in(dtype, x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erfc, otypes=[np.float64])(x.astype(np.float64)).astype(dtype)


def _axis_rows(X: np.ndarray, axis: int | None, opset: int, coerce: bool | None = None):
    """X as (outer, n, inner) rows and its shape, under the model's opset (default axis 1 or -1)."""
    rank = X.ndim
    if axis is None:
        axis = 1 if opset < 13 else -1
    axis %= rank
    coerce = opset < 13 if coerce is None else coerce
    outer = int(np.prod(X.shape[:axis]))
    if coerce:
        return X.reshape(outer, -1, 1), X.shape
    return X.reshape(outer, X.shape[axis], -1), X.shape


class ObviousNumpy:
    """Benign: every operator of the family by its obvious formula, in the input's dtype."""

    name = "benign-obvious-numpy"
    version = "benign"

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        arguments = list(case.inputs.values())
        X = arguments[0]
        method = getattr(self, _snake(case.op_type))
        with np.errstate(all="ignore"):  # overflow to inf and underflow to 0 are part of the formulas
            Y = method(*arguments, **case.attributes, opset=case.opset)
        return [np.asarray(Y).astype(X.dtype)]

    # -- helpers, in T = X.dtype --------------------------------------------------------------

    @staticmethod
    def t(X, value):
        return X.dtype.type(value)

    # -- operators -------------------------------------------------------------------------------

    def relu(self, X, *, opset):
        return np.maximum(X, X.dtype.type(0))

    def leaky_relu(self, X, *, alpha=F32_0_01, opset):
        return np.where(X < 0, self.t(X, alpha) * X, X)

    def p_relu(self, X, slope, *, opset):
        if opset < 7 and X.ndim >= 2 and slope.ndim == 1 and slope.size > 1:  # PRelu-6: one value per channel
            slope = slope.reshape((1, -1) + (1,) * (X.ndim - 2))
        return np.where(X < 0, slope * X, X)

    def elu(self, X, *, alpha=1.0, opset):
        return np.where(X < 0, self.t(X, alpha) * (np.exp(X) - self.t(X, 1)), X)

    def selu(self, X, *, alpha=SELU_ALPHA, gamma=SELU_GAMMA, opset):
        a, g = self.t(X, alpha), self.t(X, gamma)
        return np.where(X <= 0, g * (a * np.exp(X) - a), g * X)

    def celu(self, X, *, alpha=1.0, opset):
        a, zero = self.t(X, alpha), self.t(X, 0)
        return np.maximum(zero, X) + np.minimum(zero, a * (np.exp(X / a) - self.t(X, 1)))

    def sigmoid(self, X, *, opset):
        one = self.t(X, 1)
        return one / (one + np.exp(-X))

    def hard_sigmoid(self, X, *, alpha=F32_0_2, beta=0.5, opset):
        return np.maximum(self.t(X, 0), np.minimum(self.t(X, 1), self.t(X, alpha) * X + self.t(X, beta)))

    def hard_swish(self, X, *, opset):
        return X * self.hard_sigmoid(X, alpha=1 / 6, beta=0.5, opset=opset)

    def tanh(self, input, *, opset):  # noqa: A002
        return np.tanh(input)

    def softplus(self, X, *, opset):
        # log(exp(x) + 1) as written; where it would overflow, softplus(x) is x to within T's precision.
        guard = self.t(X, min(30.0, math.log(float(np.finfo(X.dtype).max)) - 1))
        return np.where(X > guard, X, np.log(np.exp(np.minimum(X, guard)) + self.t(X, 1)))

    def softsign(self, input, *, opset):  # noqa: A002
        return input / (self.t(input, 1) + np.abs(input))

    def gelu(self, X, *, approximate="none", opset):
        half, one = self.t(X, 0.5), self.t(X, 1)
        if approximate == "tanh":
            inner = self.t(X, SQRT_2_OVER_PI) * (X + self.t(X, 0.044715) * X * X * X)
            return half * X * (one + np.tanh(inner))
        return half * X * (one + _erf_in(X.dtype, X / self.t(X, math.sqrt(2))))

    def mish(self, X, *, opset):
        return X * np.tanh(self.softplus(X, opset=opset))

    def thresholded_relu(self, X, *, alpha=1.0, opset):
        return np.where(X > self.t(X, alpha), X, self.t(X, 0))

    def clip(self, input, min=None, max=None, *, opset):  # noqa: A002
        Y = input
        if min is not None:
            Y = np.maximum(Y, np.asarray(min).astype(input.dtype))
        if max is not None:
            Y = np.minimum(Y, np.asarray(max).astype(input.dtype))
        return Y

    def soft_max(self, input, *, axis=None, opset):  # noqa: A002
        R, shape = _axis_rows(input, axis, opset)
        E = np.exp(R - R.max(axis=1, keepdims=True))
        return (E / E.sum(axis=1, keepdims=True)).reshape(shape)

    def log_soft_max(self, input, *, axis=None, opset):  # noqa: A002
        R, shape = _axis_rows(input, axis, opset)
        D = R - R.max(axis=1, keepdims=True)
        return (D - np.log(np.exp(D).sum(axis=1, keepdims=True))).reshape(shape)

    def hardmax(self, input, *, axis=None, opset):  # noqa: A002
        R, shape = _axis_rows(input, axis, opset)
        first = R.argmax(axis=1)
        return (np.arange(R.shape[1])[None, :, None] == first[:, None, :]).astype(input.dtype).reshape(shape)


def _snake(op_type: str) -> str:
    """``LeakyRelu`` -> ``leaky_relu``, ``PRelu`` -> ``p_relu``, ``LogSoftmax`` -> ``log_soft_max``."""
    special = {"PRelu": "p_relu", "Softmax": "soft_max", "LogSoftmax": "log_soft_max", "HardSwish": "hard_swish",
               "HardSigmoid": "hard_sigmoid", "ThresholdedRelu": "thresholded_relu", "Hardmax": "hardmax"}
    if op_type in special:
        return special[op_type]
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(op_type))


class StableNumpy(ObviousNumpy):
    """Benign: the numerically careful rewritings of each formula, in the input's dtype."""

    name = "benign-stable-numpy"

    def elu(self, X, *, alpha=1.0, opset):
        return np.where(X < 0, self.t(X, alpha) * np.expm1(np.minimum(X, self.t(X, 0))), X)

    def selu(self, X, *, alpha=SELU_ALPHA, gamma=SELU_GAMMA, opset):
        # TensorFlow's order: scale * alpha folded into one constant, times expm1.
        scale_alpha = self.t(X, gamma * alpha)
        return np.where(X <= 0, scale_alpha * np.expm1(np.minimum(X, self.t(X, 0))), self.t(X, gamma) * X)

    def celu(self, X, *, alpha=1.0, opset):
        a = self.t(X, alpha)
        return np.where(X < 0, a * np.expm1(np.minimum(X, self.t(X, 0)) / a), X)

    def sigmoid(self, X, *, opset):
        one = self.t(X, 1)
        e = np.exp(-np.abs(X))
        return np.where(X >= 0, one / (one + e), e / (one + e))

    def hard_swish(self, X, *, opset):
        # Keras: x * relu6(x + 3) / 6
        three, six = self.t(X, 3), self.t(X, 6)
        return X * np.minimum(np.maximum(X + three, self.t(X, 0)), six) / six

    def softplus(self, X, *, opset):
        return np.maximum(X, self.t(X, 0)) + np.log1p(np.exp(-np.abs(X)))

    def gelu(self, X, *, approximate="none", opset):
        if approximate == "tanh":
            t = self.t(X, SQRT_2_OVER_PI) * X * (self.t(X, 1) + self.t(X, 0.044715) * X * X)
            two = self.t(X, 2)
            return X / (self.t(X, 1) + np.exp(-two * t))  # x * sigmoid(2t)
        return self.t(X, 0.5) * X * _erfc_in(X.dtype, -X / self.t(X, math.sqrt(2)))

    def soft_max(self, input, *, axis=None, opset):  # noqa: A002
        R, shape = _axis_rows(input, axis, opset)
        E = np.exp(R - R.max(axis=1, keepdims=True))
        # Summed in reverse order, then one reciprocal and a product per element.
        return (E * (input.dtype.type(1) / E[:, ::-1, :].sum(axis=1, keepdims=True))).reshape(shape)

    def log_soft_max(self, input, *, axis=None, opset):  # noqa: A002
        R, shape = _axis_rows(input, axis, opset)
        M = R.max(axis=1, keepdims=True)
        return (R - (M + np.log(np.exp(R - M).sum(axis=1, keepdims=True)))).reshape(shape)  # PyTorch's order


# -- Planted bugs ----------------------------------------------------------------------------------


class Planted(ObviousNumpy):
    """The obvious implementation with one convention wrong (each subclass overrides one operator)."""

    version = "planted"


class SoftmaxWithoutMax(Planted):
    """exp(x) / sum(exp(x)), and x - log(sum(exp(x))), without subtracting the max: overflows."""

    name = "planted-softmax-without-max"

    def soft_max(self, input, *, axis=None, opset):  # noqa: A002
        R, shape = _axis_rows(input, axis, opset)
        E = np.exp(R)
        return (E / E.sum(axis=1, keepdims=True)).reshape(shape)

    def log_soft_max(self, input, *, axis=None, opset):  # noqa: A002
        R, shape = _axis_rows(input, axis, opset)
        return (R - np.log(np.exp(R).sum(axis=1, keepdims=True))).reshape(shape)


class LeakyReluTensorFlowDefault(Planted):
    """A converter that maps LeakyRelu to tf.nn.leaky_relu and passes alpha only when the model has it."""

    name = "planted-leaky-relu-tf-default"

    def leaky_relu(self, X, *, alpha=0.2, opset):
        return super().leaky_relu(X, alpha=alpha, opset=opset)


class LeakyReluKerasDefault(Planted):
    """A converter that builds keras.layers.LeakyReLU() and sets negative_slope only when alpha is given."""

    name = "planted-leaky-relu-keras-default"

    def leaky_relu(self, X, *, alpha=0.3, opset):
        return super().leaky_relu(X, alpha=alpha, opset=opset)


class GeluAlwaysTanh(Planted):
    """A fused kernel that always computes the tanh approximation (FastGelu), even for approximate='none'."""

    name = "planted-gelu-always-tanh"

    def gelu(self, X, *, approximate="none", opset):
        return super().gelu(X, approximate="tanh", opset=opset)


class GeluIgnoresApproximate(Planted):
    """A converter that drops the approximate attribute: the exact erf form, even for 'tanh'."""

    name = "planted-gelu-ignores-approximate"

    def gelu(self, X, *, approximate="none", opset):
        return super().gelu(X, approximate="none", opset=opset)


class HardSigmoidPyTorchDefault(Planted):
    """Absent alpha read as PyTorch's / Keras 3's 1/6 instead of ONNX's 0.2."""

    name = "planted-hard-sigmoid-one-sixth"

    def hard_sigmoid(self, X, *, alpha=1 / 6, beta=0.5, opset):
        return super().hard_sigmoid(X, alpha=alpha, beta=beta, opset=opset)


class HardSwishWithHardSigmoidDefaults(Planted):
    """HardSwish decomposed as x * HardSigmoid(x) with HardSigmoid's default attributes (alpha 0.2)."""

    name = "planted-hard-swish-default-hard-sigmoid"

    def hard_swish(self, X, *, opset):
        return X * ObviousNumpy.hard_sigmoid(self, X, opset=opset)


class SoftmaxFamilyOneAxis(Planted):
    """Opset 13's Softmax, LogSoftmax and Hardmax whatever the model's opset: one axis, default -1."""

    name = "planted-softmax-one-axis"

    def run(self, model, inputs):
        model = onnx.ModelProto.FromString(model.SerializeToString())
        for opset in model.opset_import:
            if opset.domain in ("", "ai.onnx"):
                opset.version = max(opset.version, 13)  # the runtime reads every model as opset 13
        return super().run(model, inputs)


class SoftmaxFamilyCoerced(Planted):
    """Opset 11's Softmax, LogSoftmax and Hardmax whatever the model's opset: 2-D coercion, default axis 1."""

    name = "planted-softmax-coerced"

    def soft_max(self, input, *, axis=None, opset):  # noqa: A002
        return super().soft_max(input, axis=axis, opset=11)

    def log_soft_max(self, input, *, axis=None, opset):  # noqa: A002
        return super().log_soft_max(input, axis=axis, opset=11)

    def hardmax(self, input, *, axis=None, opset):  # noqa: A002
        return super().hardmax(input, axis=axis, opset=11)


class LogSoftmaxAsLogOfSoftmax(Planted):
    """LogSoftmax as the spec's text defines it, Log(Softmax(x)), evaluated literally."""

    name = "planted-log-of-softmax"

    def log_soft_max(self, input, *, axis=None, opset):  # noqa: A002
        return np.log(self.soft_max(input, axis=axis, opset=opset))


class HardmaxLastMaximum(Planted):
    """Ties go to the last maximum (an argmax scanning with >=)."""

    name = "planted-hardmax-last-maximum"

    def hardmax(self, input, *, axis=None, opset):  # noqa: A002
        R, shape = _axis_rows(input, axis, opset)
        last = R.shape[1] - 1 - R[:, ::-1, :].argmax(axis=1)
        return (np.arange(R.shape[1])[None, :, None] == last[:, None, :]).astype(input.dtype).reshape(shape)


class HardmaxEveryMaximum(Planted):
    """Hardmax as cast(x == reduce_max(x)): every tied maximum is 1."""

    name = "planted-hardmax-every-maximum"

    def hardmax(self, input, *, axis=None, opset):  # noqa: A002
        R, shape = _axis_rows(input, axis, opset)
        return (R == R.max(axis=1, keepdims=True)).astype(input.dtype).reshape(shape)


class PReluPerChannel(Planted):
    """A 1-D slope applied per channel (axis 1) whenever its length is the channel count, as PyTorch's PReLU."""

    name = "planted-prelu-per-channel"

    def p_relu(self, X, slope, *, opset):
        if X.ndim >= 2 and slope.ndim == 1 and slope.size == X.shape[1] and slope.size > 1:
            slope = slope.reshape((1, -1) + (1,) * (X.ndim - 2))
        return np.where(X < 0, slope * X, X)


class EluAlphaIgnored(Planted):
    """Elu lowered to tf.nn.elu, which has no alpha."""

    name = "planted-elu-alpha-ignored"

    def elu(self, X, *, alpha=1.0, opset):
        return super().elu(X, alpha=1.0, opset=opset)


class SeluTensorFlowConstants(Planted):
    """Selu lowered to tf.nn.selu: its own float64 constants, whatever the attributes say."""

    name = "planted-selu-tf-constants"

    def selu(self, X, *, alpha=None, gamma=None, opset):
        return super().selu(X, alpha=1.6732632423543772848170429916717, gamma=1.0507009873554804934193349852946,
                            opset=opset)


class SoftplusOverflow(Planted):
    """log(exp(x) + 1) exactly as written, without a guard: inf for large x."""

    name = "planted-softplus-overflow"

    def softplus(self, X, *, opset):
        return np.log(np.exp(X) + self.t(X, 1))


class ThresholdedReluInclusive(Planted):
    """Keeps x >= alpha instead of x > alpha."""

    name = "planted-thresholded-relu-inclusive"

    def thresholded_relu(self, X, *, alpha=1.0, opset):
        return np.where(X >= self.t(X, alpha), X, self.t(X, 0))


class ClipMinWins(Planted):
    """Clip as tf.clip_by_value computes it: minimum first, then maximum, so min wins when min > max."""

    name = "planted-clip-min-wins"

    def clip(self, input, min=None, max=None, *, opset):  # noqa: A002
        Y = input
        if max is not None:
            Y = np.minimum(Y, np.asarray(max).astype(input.dtype))
        if min is not None:
            Y = np.maximum(Y, np.asarray(min).astype(input.dtype))
        return Y
