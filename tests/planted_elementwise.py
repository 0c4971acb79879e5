"""Backends for the self-tests of the elementwise and dense families: benign ones that must pass,
planted bugs that must be caught and named.

``NumpyInPrecision`` is the obvious NumPy implementation of every operator of the two families,
computed in the input dtype (float32 arithmetic for float32 cases, NumPy's SIMD exp and log, BLAS
for the matrix products) and written from the operator descriptions, not from ``reference``.
Each planted bug is a subclass that commits one mistake the way a backend would: flooring integer
division, opset-6 broadcasting that ignores ``axis``, pow through exp(y * log(x)), fmax instead of
max, Gemm ignoring beta or swapping its transposes, Gather not wrapping negative indices, MatMul
keeping the promoted axis, a Dropout that reads ratio as the keep probability, forgets to rescale,
trains by default, keeps the wrong fraction, or drops a fixed prefix. They work from the command
line too, from the repository root:

    conformance certify Div --backend tests.planted_elementwise:FlooringIntegerDivision
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import onnx

from conformance.case import Case

_ERF = np.frompyfunc(math.erf, 1, 1)


class NumpyInPrecision:
    """Benign: every operator in the input dtype, by the obvious NumPy expression."""

    name = "benign-numpy-in-precision"
    version = "benign"

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        arguments = list(case.inputs.values())
        method = getattr(self, case.op_type.lower())
        with np.errstate(all="ignore"):
            outputs = method(*arguments, **case.attributes)
        outputs = list(outputs) if isinstance(outputs, tuple) else [outputs]
        return [np.asarray(o).astype(dtype) for o, dtype in zip(outputs, case.output_dtypes)]

    # -- elementwise --
    def add(self, A, B, broadcast=0, axis=None):
        return A + self.legacy_b(A, B, broadcast, axis)

    def sub(self, A, B, broadcast=0, axis=None):
        return A - self.legacy_b(A, B, broadcast, axis)

    def mul(self, A, B, broadcast=0, axis=None):
        return A * self.legacy_b(A, B, broadcast, axis)

    def div(self, A, B, broadcast=0, axis=None):
        B = self.legacy_b(A, B, broadcast, axis)
        if A.dtype.kind in "iu":
            return self.integer_div(A, B)
        return A / B

    def legacy_b(self, A, B, broadcast, axis):
        """B before opset 7 (only such calls carry these attributes): with broadcast=1 and an
        axis, B's axes start at A's axis ``axis``, so size-1 axes are appended for NumPy."""
        if broadcast and axis is not None and B.ndim:
            return B.reshape(B.shape + (1,) * (A.ndim - axis - B.ndim))
        return B

    def integer_div(self, A, B):
        quotient = np.abs(A) // np.abs(B)  # C's truncating division
        return np.where((A < 0) ^ (B < 0), -quotient, quotient)

    def pow(self, X, Y):
        if X.dtype.kind == "f":
            return np.power(X, Y.astype(X.dtype))
        return np.power(X, Y)

    def max(self, *data):
        return np.broadcast_to(self._fold(np.maximum, data), np.broadcast_shapes(*(d.shape for d in data)))

    def min(self, *data):
        return np.broadcast_to(self._fold(np.minimum, data), np.broadcast_shapes(*(d.shape for d in data)))

    @staticmethod
    def _fold(ufunc, data):
        result = data[0]
        for x in data[1:]:
            result = ufunc(result, x)
        return result

    def sum(self, *data):
        total = np.zeros(np.broadcast_shapes(*(d.shape for d in data)), dtype=data[0].dtype)
        for x in data:
            total = total + x
        return total

    def mean(self, *data):
        return self.sum(*data) / data[0].dtype.type(len(data))

    def sqrt(self, X):
        return np.sqrt(X)

    def exp(self, X):
        return np.exp(X)

    def log(self, X):
        return np.log(X)

    def abs(self, X):
        return np.abs(X)

    def neg(self, X):
        return -X

    def reciprocal(self, X):
        return X.dtype.type(1) / X

    def erf(self, X):
        return np.asarray(_ERF(X.astype(np.float64)), dtype=np.float64).astype(X.dtype)

    def where(self, condition, X, Y):
        return np.where(condition, X, Y)

    # -- dense --
    def gemm(self, A, B, C=None, alpha=1.0, beta=1.0, transA=0, transB=0, broadcast=0):
        # Gemm-6's broadcast: C has Y's shape unless it is set, and NumPy's broadcasting covers both.
        A_, B_ = self.transposed(A, B, transA, transB)
        Y = A.dtype.type(alpha) * self.product(A_, B_)
        return Y if C is None else Y + A.dtype.type(beta) * C

    @staticmethod
    def transposed(A, B, transA, transB):
        return (A.T if transA else A), (B.T if transB else B)

    def product(self, A, B):
        return np.matmul(A, B)

    def matmul(self, A, B):
        return self.product(A, B)

    def gather(self, data, indices, axis=0):
        return np.take(data, indices.astype(np.int64), axis=axis)

    def dropout(self, data, ratio=None, training_mode=None, seed=None):
        rate = 0.5 if ratio is None else float(ratio)
        training = training_mode is not None and bool(training_mode)
        if not training or rate == 0:
            return data, np.ones(data.shape, dtype=bool)
        mask = self.dropout_mask(data.shape, rate, self.generator(data, seed))
        return data * mask * data.dtype.type(1.0 / (1.0 - rate)), mask

    def dropout_mask(self, shape, rate, rng):
        return rng.random(shape) >= rate

    @staticmethod
    def generator(data, seed):
        """Seeded by the seed attribute, else by the data: random across cases, but the same on a
        rerun, so that Hypothesis can replay and shrink a failure of these self-test backends."""
        return np.random.default_rng(seed if seed is not None else zlib.crc32(data.tobytes()))


class ReversedSummation(NumpyInPrecision):
    """Benign: matrix products summed over K in reverse order, one rank-1 update at a time, in the
    input dtype; Sum and Mean add their inputs last to first."""

    name = "benign-reversed-summation"

    def product(self, A, B):
        A2, B2 = (A[None, :] if A.ndim == 1 else A), (B[:, None] if B.ndim == 1 else B)
        total = np.zeros(np.broadcast_shapes(A2.shape[:-1] + (1,), B2.shape[:-2] + (1, B2.shape[-1])),
                         dtype=A.dtype)
        for k in reversed(range(A2.shape[-1])):
            total = total + A2[..., k:k + 1] * B2[..., k:k + 1, :]
        if A.ndim == 1:
            total = total[..., 0, :]
        if B.ndim == 1:
            total = total[..., 0]
        return total

    def sum(self, *data):
        return super().sum(*reversed(data))


# -- planted bugs ---------------------------------------------------------------------------------


class FlooringIntegerDivision(NumpyInPrecision):
    """Integer Div with Python's // (toward negative infinity)."""

    name = "planted-flooring-integer-division"

    def integer_div(self, A, B):
        return A // B


class LegacyAxisIgnored(NumpyInPrecision):
    """Add/Sub/Mul/Div before opset 7 broadcasting B as NumPy does, ignoring ``axis`` (onnx.reference's way)."""

    name = "planted-legacy-axis-ignored"

    def legacy_b(self, A, B, broadcast, axis):
        return B


class PowThroughExpLog(NumpyInPrecision):
    """Pow as exp(y * log(x)) (in float64, rounded once): NaN for every negative base."""

    name = "planted-pow-exp-log"

    def pow(self, X, Y):
        if X.dtype.kind != "f":
            return super().pow(X, Y)
        return np.exp(Y.astype(np.float64) * np.log(X.astype(np.float64)))


class MaxMinIgnoringNaN(NumpyInPrecision):
    """Max and Min with C's fmax/fmin, which return the other operand when one is NaN."""

    name = "planted-max-min-ignoring-nan"

    def max(self, *data):
        return np.broadcast_to(self._fold(np.fmax, data), np.broadcast_shapes(*(d.shape for d in data)))

    def min(self, *data):
        return np.broadcast_to(self._fold(np.fmin, data), np.broadcast_shapes(*(d.shape for d in data)))


class GemmIgnoringBeta(NumpyInPrecision):
    name = "planted-gemm-ignoring-beta"

    def gemm(self, A, B, C=None, alpha=1.0, beta=1.0, transA=0, transB=0, broadcast=0):
        return super().gemm(A, B, C, alpha=alpha, beta=1.0, transA=transA, transB=transB, broadcast=broadcast)


class GemmSwappedTransposes(NumpyInPrecision):
    name = "planted-gemm-swapped-transposes"

    def gemm(self, A, B, C=None, alpha=1.0, beta=1.0, transA=0, transB=0, broadcast=0):
        return super().gemm(A, B, C, alpha=alpha, beta=beta, transA=transB, transB=transA, broadcast=broadcast)


class GatherZeroFillingNegativeIndices(NumpyInPrecision):
    """Gather that treats a negative index as out of range and writes zeros (TensorFlow on GPU)."""

    name = "planted-gather-zero-filling"

    def gather(self, data, indices, axis=0):
        axis %= data.ndim
        valid = indices >= 0
        taken = np.take(data, np.where(valid, indices, 0).astype(np.int64), axis=axis)
        where = valid.reshape((1,) * axis + valid.shape + (1,) * (data.ndim - axis - 1))
        return np.where(where, taken, np.zeros((), data.dtype))


class GatherClampingIndices(NumpyInPrecision):
    """Gather that clamps indices into [0, s-1] (XLA), so -1 reads slice 0."""

    name = "planted-gather-clamping"

    def gather(self, data, indices, axis=0):
        return np.take(data, np.clip(indices.astype(np.int64), 0, data.shape[axis] - 1), axis=axis)


class MatMulKeepingPromotedAxis(NumpyInPrecision):
    name = "planted-matmul-keeping-promoted-axis"

    def matmul(self, A, B):
        return np.matmul(A[None, :] if A.ndim == 1 else A, B[:, None] if B.ndim == 1 else B)


class DropoutRatioAsKeepProbability(NumpyInPrecision):
    """TensorFlow 1's keep_prob: keeps elements with probability ratio, scales by 1/ratio."""

    name = "planted-dropout-keep-probability"

    def dropout(self, data, ratio=None, training_mode=None, seed=None):
        if ratio is None or not (training_mode is not None and bool(training_mode)) or float(ratio) == 0:
            return super().dropout(data, ratio, training_mode, seed)
        keep = float(ratio)
        mask = self.generator(data, seed).random(data.shape) < keep
        return data * mask * data.dtype.type(1.0 / keep), mask


class DropoutNotRescaled(NumpyInPrecision):
    name = "planted-dropout-not-rescaled"

    def dropout(self, data, ratio=None, training_mode=None, seed=None):
        output, mask = super().dropout(data, ratio, training_mode, seed)
        return np.where(mask, data, np.zeros((), data.dtype)), mask


class DropoutTrainingByDefault(NumpyInPrecision):
    """Drops elements when training_mode is absent, as Dropout-6 did by default."""

    name = "planted-dropout-training-by-default"

    def dropout(self, data, ratio=None, training_mode=None, seed=None):
        return super().dropout(data, ratio, np.asarray(True) if training_mode is None else training_mode, seed)


class DropoutWrongRate(NumpyInPrecision):
    """Keeps 10 points fewer elements than 1 - ratio asks for (but scales correctly)."""

    name = "planted-dropout-wrong-rate"

    def dropout_mask(self, shape, rate, rng):
        return rng.random(shape) >= min(rate + 0.1, 0.99)


class DropoutFixedPrefix(NumpyInPrecision):
    """Drops the first round(ratio * n) elements: the right count, no randomness."""

    name = "planted-dropout-fixed-prefix"

    def dropout_mask(self, shape, rate, rng):
        size = int(np.prod(shape))
        return (np.arange(size) >= round(rate * size)).reshape(shape)
