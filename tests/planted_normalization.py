"""Normalization backends for the harness's self-tests: planted convention bugs that must be caught and
named, and correct implementations with other algorithms and precisions that must pass.

``NumpyNormalization`` computes every operator of the family the way a NumPy backend would, from
the ONNX text, without the reference's code: statistics over the reduced axes, then the affine
stage, in a working precision. Its hooks (how a mean and a variance are accumulated, where epsilon
goes, which momentum weighs what, ...) are where the planted backends commit their bug, as a real
implementation would, rather than by calling the reference under a variant. They are ordinary
plug-ins:

    conformance certify BatchNormalization --backend tests.planted_normalization:EpsOutsideSqrt

Benign backends: float64 rounded once; the obvious implementation in the precision the spec asks
for (float16 arithmetic where it allows it, float32 stash types); sequential summation in reverse
order; Welford's updating variance; inference BatchNormalization folded into ``x * a + b`` with a
and b computed in float64. A one-pass variance (``mean(x^2) - mean(x)^2``) is not benign: the
bound is derived for stable algorithms, and the self-tests check that it is caught.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import onnx

from conformance.case import Case

FLOAT32 = np.dtype("float32")


def _attribute(value: Any) -> float:
    """Float attributes are float32 in ONNX, defaults included."""
    return float(np.float32(value))


def _training(case: Case, training_mode: int = 0, is_test: int = 0) -> bool:
    """BatchNormalization trains by attribute from opset 14, by listing its five outputs in 7 to 13."""
    if case.opset >= 14:
        return bool(training_mode)
    if case.opset >= 7:
        return len(case.outputs) > 1
    return not is_test


class NumpyNormalization:
    """The normalization family in NumPy. ``exact = True`` computes in float64 and rounds once."""

    name = "benign-normalization-rounded-once"
    version = "planted"
    exact = True

    # --- the plumbing ---------------------------------------------------------------------------

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        method = getattr(self, _snake_case(case.op_type))
        outputs = method(case, *case.inputs.values(), **case.attributes)
        return [np.asarray(o).astype(d) for o, d in zip(outputs, case.output_dtypes)][: len(case.outputs)]

    def working(self, *dtypes: np.dtype) -> np.dtype:
        """The precision to compute in: float64 when exact, else the least precise of ``dtypes``."""
        if self.exact:
            return np.dtype("float64")
        return min((np.dtype(d) for d in dtypes), key=lambda d: np.finfo(d).bits)

    # --- the hooks a backend's algorithm (or bug) lives in ---------------------------------------

    def total(self, x: np.ndarray, axes: Sequence[int]) -> np.ndarray:
        """A sum over ``axes`` kept as size-1 axes, in x's precision (NumPy's pairwise summation)."""
        return np.sum(x, axis=tuple(axes), keepdims=True, dtype=x.dtype)

    def moments(self, x: np.ndarray, axes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and population variance in x's precision, in two passes."""
        n = x.dtype.type(np.prod([x.shape[a] for a in axes]))
        mean = self.total(x, axes) / n
        deviation = x - mean
        return mean, self.total(deviation * deviation, axes) / n

    def denominator(self, variance: np.ndarray, epsilon: float) -> np.ndarray:
        return np.sqrt(variance + variance.dtype.type(epsilon))

    def running(self, running: np.ndarray, batch: np.ndarray, momentum: float) -> np.ndarray:
        return running * running.dtype.type(momentum) + batch * batch.dtype.type(1 - momentum)

    def batch_variance_to_normalize(self, variance: np.ndarray, n: int) -> np.ndarray:
        return variance

    def batch_variance_to_accumulate(self, variance: np.ndarray, n: int) -> np.ndarray:
        return variance

    def saved_variance(self, variance: np.ndarray, epsilon: float) -> np.ndarray:
        return variance

    def lrn_window(self, size: int) -> tuple[int, int]:
        """Channels before and after c in the window: ONNX's floor((size-1)/2) and ceil((size-1)/2)."""
        return (size - 1) // 2, size // 2

    def lrn_alpha(self, alpha: float, size: int) -> float:
        return alpha / size

    mvn_epsilon = _attribute(1e-9)  # the function body's Constant is a float32 tensor

    # --- the operators ---------------------------------------------------------------------------

    def batch_normalization(self, case: Case, X, scale, B, mean, var, *, epsilon=1e-5, momentum=0.9,
                            training_mode=0, spatial=1, is_test=0, consumed_inputs=None):
        epsilon, momentum = _attribute(epsilon), _attribute(momentum)
        training = _training(case, training_mode, is_test)
        vector = X.ndim == 1
        X = X.reshape(-1, 1) if vector else X
        dtype = self.working(X.dtype, scale.dtype, mean.dtype)
        # BatchNormalization-15 computes the statistics of float16 inputs in float32.
        statistics_dtype = np.dtype("float32") if case.opset >= 15 and dtype == np.float16 else dtype
        shape = (1, X.shape[1]) + (1,) * (X.ndim - 2) if spatial else (1,) + X.shape[1:]
        s, b, m, v = (a.astype(dtype).reshape(shape) for a in (scale, B, mean, var))
        x = X.astype(dtype)
        if not training:
            Y = (x - m) / self.denominator(v, epsilon) * s + b
            return [Y.reshape(-1) if vector else Y]
        axes = (0, *range(2, X.ndim)) if spatial else (0,)
        n = int(np.prod([X.shape[a] for a in axes]))
        batch_mean, batch_var = self.moments(X.astype(statistics_dtype), axes)
        normalize_var = self.batch_variance_to_normalize(batch_var, n)
        Y = (x - batch_mean.astype(dtype)) / self.denominator(normalize_var.astype(dtype), epsilon) * s + b
        running_mean = self.running(m, batch_mean.astype(dtype), momentum)
        running_var = self.running(v, self.batch_variance_to_accumulate(normalize_var, n).astype(dtype), momentum)
        flat = shape[1:2] if spatial else shape[1:]
        outputs = [Y.reshape(-1) if vector else Y, running_mean.reshape(flat), running_var.reshape(flat)]
        if case.opset < 14:
            outputs += [batch_mean.reshape(flat), self.saved_variance(normalize_var, epsilon).reshape(flat)]
        return outputs

    def lrn(self, case: Case, X, *, size, alpha=1e-4, beta=0.75, bias=1.0):
        dtype = self.working(X.dtype)
        x = X.astype(dtype)
        before, after = self.lrn_window(size)
        squares = np.pad(x * x, [(0, 0), (before, after)] + [(0, 0)] * (X.ndim - 2))
        square_sum = np.zeros_like(x)
        C = X.shape[1]
        for offset in range(size):
            square_sum = square_sum + squares[:, offset:offset + C]
        base = dtype.type(_attribute(bias)) + dtype.type(self.lrn_alpha(_attribute(alpha), size)) * square_sum
        return [x * np.power(base, dtype.type(-_attribute(beta)))]

    def _stash(self, X: np.ndarray) -> np.dtype:
        """stash_type float: stage one in float32 (or float64 when exact)."""
        return np.dtype("float64") if self.exact else FLOAT32

    def layer_normalization(self, case: Case, X, Scale, B=None, *, axis=-1, epsilon=1e-5, stash_type=1):
        x = X.astype(self._stash(X))
        axes = tuple(range(axis % X.ndim, X.ndim))
        mean, variance = self.moments(x, axes)
        inv_std = 1 / self.denominator(variance, _attribute(epsilon))
        dtype = self.working(X.dtype)
        Y = ((x - mean) * inv_std).astype(dtype) * Scale.astype(dtype)
        if B is not None:
            Y = Y + B.astype(dtype)
        return [Y, mean, inv_std]

    def instance_normalization(self, case: Case, input, scale, B, *, epsilon=1e-5, consumed_inputs=None):
        dtype = self.working(input.dtype)
        x = input.astype(dtype)
        mean, variance = self.moments(x, tuple(range(2, x.ndim)))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return [(x - mean) / self.denominator(variance, _attribute(epsilon)) * scale.astype(dtype).reshape(shape)
                + B.astype(dtype).reshape(shape)]

    def group_normalization(self, case: Case, X, scale, bias, *, num_groups, epsilon=1e-5, stash_type=1):
        dtype = self.working(X.dtype)
        x = X.astype(self._stash(X) if case.opset >= 21 else dtype)
        grouped = x.reshape(X.shape[0], num_groups, -1)
        mean, variance = self.moments(grouped, (2,))
        normalized = ((grouped - mean) / self.denominator(variance, _attribute(epsilon))).reshape(X.shape).astype(dtype)
        s, b = scale.astype(dtype), bias.astype(dtype)
        if case.opset < 21:  # one value per group
            s, b = np.repeat(s, X.shape[1] // num_groups), np.repeat(b, X.shape[1] // num_groups)
        shape = (1, -1) + (1,) * (X.ndim - 2)
        return [normalized * s.reshape(shape) + b.reshape(shape)]

    def mean_variance_normalization(self, case: Case, X, *, axes=(0, 2, 3)):
        # 1e-9 is zero in float16: a float16 input is normalized in float32.
        dtype = np.dtype("float64") if self.exact else np.promote_types(X.dtype, FLOAT32)
        x = X.astype(dtype)
        mean, variance = self.moments(x, tuple(sorted(a % X.ndim for a in axes)))
        with np.errstate(invalid="ignore", divide="ignore"):
            return [(x - mean) / (np.sqrt(variance) + dtype.type(self.mvn_epsilon))]

    def lp_normalization(self, case: Case, input, *, axis=-1, p=2):
        dtype = self.working(input.dtype)
        x = input.astype(dtype)
        norm = self.total(np.abs(x), (axis % x.ndim,)) if p == 1 else np.sqrt(self.total(x * x, (axis % x.ndim,)))
        with np.errstate(invalid="ignore", divide="ignore"):
            return [np.where(norm == 0, dtype.type(0), x / norm)]

    def rms_normalization(self, case: Case, X, scale, *, axis=-1, epsilon=1e-5, stash_type=1):
        x = X.astype(self._stash(X))
        axes = tuple(range(axis % X.ndim, X.ndim))
        n = x.dtype.type(np.prod([X.shape[a] for a in axes]))
        mean_square = self.total(x * x, axes) / n
        dtype = self.working(X.dtype)
        return [(x / self.denominator(mean_square, _attribute(epsilon))).astype(dtype) * scale.astype(dtype)]


def _snake_case(op_type: str) -> str:
    names = {"LRN": "lrn", "RMSNormalization": "rms_normalization"}
    if op_type in names:
        return names[op_type]
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in op_type).lstrip("_")


# --- benign: other precisions and algorithms ------------------------------------------------------


class RoundedOnce(NumpyNormalization):
    """Benign: float64 computation rounded once to the output types."""

    name = "benign-normalization-rounded-once"


class InPrecision(NumpyNormalization):
    """Benign: the obvious implementation in the precision the spec asks for (float16 arithmetic where
    it allows it, float32 for stash types and BatchNormalization-15's statistics), NumPy's sums."""

    name = "benign-normalization-in-precision"
    exact = False


class SequentialReversed(InPrecision):
    """Benign: every sum accumulated one term at a time, last term first, in the working precision."""

    name = "benign-normalization-sequential-reversed"

    def total(self, x, axes):
        axes = tuple(axes)
        kept = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x, kept + list(axes)).reshape([x.shape[a] for a in kept] + [-1])
        running = np.cumsum(moved[..., ::-1], axis=-1, dtype=x.dtype)[..., -1]
        return running.reshape([1 if a in axes else x.shape[a] for a in range(x.ndim)])


class Welford(InPrecision):
    """Benign: Welford's updating mean and variance, one value at a time, in the working precision."""

    name = "benign-normalization-welford"

    def moments(self, x, axes):
        axes = tuple(axes)
        kept = [a for a in range(x.ndim) if a not in axes]
        values = np.transpose(x, kept + list(axes)).reshape([x.shape[a] for a in kept] + [-1])
        mean = np.zeros(values.shape[:-1], dtype=x.dtype)
        m2 = np.zeros_like(mean)
        for k in range(values.shape[-1]):
            value = values[..., k]
            delta = value - mean
            mean = mean + delta / x.dtype.type(k + 1)
            m2 = m2 + delta * (value - mean)
        shape = [1 if a in axes else x.shape[a] for a in range(x.ndim)]
        return mean.reshape(shape), (m2 / x.dtype.type(values.shape[-1])).reshape(shape)


class FoldedBatchNorm(InPrecision):
    """Benign: inference BatchNormalization folded into ``x * a + b``, a = scale / sqrt(var + eps) and
    b = B - mean * a computed in float64 and stored in X's type, as converters fold it into a layer."""

    name = "benign-normalization-folded-batchnorm"

    def batch_normalization(self, case, X, scale, B, mean, var, **attributes):
        if _training(case, attributes.get("training_mode", 0), attributes.get("is_test", 0)):
            return super().batch_normalization(case, X, scale, B, mean, var, **attributes)
        epsilon = _attribute(attributes.get("epsilon", 1e-5))
        spatial = attributes.get("spatial", 1)
        x = X.reshape(-1, 1) if X.ndim == 1 else X
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2) if spatial else (1,) + x.shape[1:]
        a = scale.astype(np.float64) / np.sqrt(var.astype(np.float64) + epsilon)
        b = B.astype(np.float64) - mean.astype(np.float64) * a
        Y = x * a.astype(X.dtype).reshape(shape) + b.astype(X.dtype).reshape(shape)
        return [Y.reshape(X.shape)]


# --- planted bugs: must be caught, and named by the diagnosis --------------------------------------


class EpsOutsideSqrt(RoundedOnce):
    """CNTK's BatchNormalization: (x - mean) / (sqrt(var) + eps)."""

    name = "planted-eps-outside-sqrt"

    def denominator(self, variance, epsilon):
        return np.sqrt(variance) + variance.dtype.type(epsilon)


class MomentumComplement(RoundedOnce):
    """PyTorch's momentum read as ONNX's: running = running * (1 - momentum) + batch * momentum."""

    name = "planted-momentum-complement"

    def running(self, running, batch, momentum):
        return running * (1 - momentum) + batch * momentum


class UnbiasedBatchVariance(RoundedOnce):
    """The batch variance divided by n - 1, to normalize and to update the running variance."""

    name = "planted-unbiased-batch-variance"

    def batch_variance_to_normalize(self, variance, n):
        return variance * n / max(n - 1, 1)  # a single value keeps its variance (0), as TensorFlow's CPU kernel does


class UnbiasedRunningVariance(RoundedOnce):
    """PyTorch's running variance: updated with the sample variance, n / (n - 1) times the batch's."""

    name = "planted-unbiased-running-variance"

    def batch_variance_to_accumulate(self, variance, n):
        return variance * n / max(n - 1, 1)


class SavedInvStd(RoundedOnce):
    """Caffe2's saved_var output (before opset 14): 1 / sqrt(var + eps) instead of the variance."""

    name = "planted-saved-inv-std"

    def saved_variance(self, variance, epsilon):
        return 1 / np.sqrt(variance + epsilon)


class AlphaNotDividedBySize(RoundedOnce):
    """TensorFlow's local_response_normalization semantics: alpha times the sum of squares."""

    name = "planted-alpha-not-divided-by-size"

    def lrn_alpha(self, alpha, size):
        return alpha


class WindowTorchEven(RoundedOnce):
    """PyTorch's local_response_norm: pads the channels with size // 2 before and (size - 1) // 2 after."""

    name = "planted-window-torch-even"

    def lrn_window(self, size):
        return size // 2, (size - 1) // 2


class StdWithoutEpsilon(RoundedOnce):
    """MeanVarianceNormalization's doc-string formula: no 1e-9 added to the standard deviation."""

    name = "planted-std-without-epsilon"
    mvn_epsilon = 0.0


class Float16Operands(RoundedOnce):
    """Silently computes from operands rounded to float16."""

    name = "planted-normalization-float16-operands"

    def run(self, model, inputs):
        return super().run(model, {k: v.astype(np.float16).astype(v.dtype) for k, v in inputs.items()})


class OnePassVariance(InPrecision):
    """Not a convention but a numerically unstable variance, mean(x^2) - mean(x)^2 (the function bodies of
    LayerNormalization and GroupNormalization): it must be caught where means are far from zero."""

    name = "planted-one-pass-variance"

    def moments(self, x, axes):
        n = x.dtype.type(np.prod([x.shape[a] for a in axes]))
        mean = self.total(x, axes) / n
        return mean, np.maximum(self.total(x * x, axes) / n - mean * mean, x.dtype.type(0))


class _Float16Shortcut(RoundedOnce):
    """Correct but in float16, where it returns ``shortcut(case)`` for every output instead."""

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        outputs = super().run(model, inputs)
        first = next(iter(case.inputs.values()))
        if first.dtype != np.float16:
            return outputs
        return [self.shortcut(first).astype(o.dtype) if o.shape == first.shape else o for o in outputs]

    def shortcut(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Float16Zeros(_Float16Shortcut):
    """float16 normalizations that return zeros: what an unbounded bound let through."""

    name = "planted-float16-zeros"

    def shortcut(self, X: np.ndarray) -> np.ndarray:
        return np.zeros_like(X)


class Float16Unchanged(_Float16Shortcut):
    """float16 normalizations that return their input unchanged."""

    name = "planted-float16-unchanged"

    def shortcut(self, X: np.ndarray) -> np.ndarray:
        return X


class StdPlusLargeEpsilon(RoundedOnce):
    """MeanVarianceNormalization with 1e-3 added to the standard deviation: neither the function body's
    1e-9 nor the doc string's nothing."""

    name = "planted-std-plus-large-epsilon"
    mvn_epsilon = 1e-3
