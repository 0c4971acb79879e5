"""Dense layers and embeddings as the ONNX specification defines them, in float64.

- Gemm: Y = alpha * A' @ B' + beta * C, A' = A.T if transA, B' = B.T if transB, C broadcast to
  (M, N) unidirectionally (https://onnx.ai/onnx/operators/onnx__Gemm.html). Before opset 7, C is
  broadcast only if the ``broadcast`` attribute (default 0) is set, and has shape (M, N) otherwise
  (Gemm-6's shape inference gives Y the shape of C); Gemm-6 does not say how C broadcasts: any
  shape NumPy's rules take is accepted, which include every one the legacy rule of opset-6 binary
  operators takes (size 1, or a suffix of (M, N)) and give it the same value. C is required before
  opset 11;
- MatMul: numpy.matmul: batched, batch axes broadcast, a 1-D first operand promoted to a row and
  a 1-D second operand to a column, the added axis removed from the result
  (https://onnx.ai/onnx/operators/onnx__MatMul.html);
- Gather: slices of ``data`` along ``axis`` at ``indices``; an index in [-s, -1] counts from the
  end of the axis of size s (https://onnx.ai/onnx/operators/onnx__Gather.html);
- Dropout: output = data * mask / (1 - ratio) in training mode, the identity otherwise, with the
  boolean mask as a second output (https://onnx.ai/onnx/operators/onnx__Dropout.html).

Floating-point results are float64; integer Gemm and MatMul are exact 64-bit integer products.
"""

from __future__ import annotations

import numpy as np

from reference.elementwise import exact
from reference.variants import Variant, with_variants

TRANSPOSES_SWAPPED = Variant(
    "transposes_swapped",
    "Gemm applies transA to B and transB to A",
)
BETA_IGNORED = Variant(
    "beta_ignored",
    "Gemm adds C unscaled (beta taken as 1)",
)
ALPHA_IGNORED = Variant(
    "alpha_ignored",
    "Gemm leaves A' @ B' unscaled (alpha taken as 1)",
)
PROMOTED_AXIS_KEPT = Variant(
    "promoted_axis_kept",
    "MatMul keeps the axis a 1-D operand was promoted with: (K) @ (K, N) gives (1, N) instead of (N)",
    "https://numpy.org/doc/stable/reference/generated/numpy.matmul.html",
)
NEGATIVE_INDICES_CLAMPED = Variant(
    "negative_indices_clamped",
    "Gather clamps indices into [0, s-1], so a negative index reads slice 0 (XLA's Gather clamps"
    " out-of-range start indices)",
    "https://openxla.org/xla/operation_semantics#gather",
)
NEGATIVE_INDICES_ZERO_FILLED = Variant(
    "negative_indices_zero_filled",
    "Gather writes zeros for a negative index, as tf.gather does for out-of-range indices on GPU",
    "https://www.tensorflow.org/api_docs/python/tf/gather",
)
RATIO_IS_KEEP_PROBABILITY = Variant(
    "ratio_is_keep_probability",
    "Dropout reads ratio as the probability of keeping an element, scaling by 1/ratio"
    " (TensorFlow 1's keep_prob)",
    "https://github.com/tensorflow/docs/blob/r1.15/site/en/api_docs/python/tf/nn/dropout.md",
)
NOT_RESCALED = Variant(
    "not_rescaled",
    "Dropout keeps elements unscaled in training (the original dropout of Srivastava et al., which"
    " scales at inference instead)",
    "https://jmlr.org/papers/v15/srivastava14a.html",
)
TRAINING_BY_DEFAULT = Variant(
    "training_by_default",
    "Dropout drops elements when training_mode is absent, as Dropout-6 did by default (is_test=0)",
    "https://onnx.ai/onnx/operators/onnx__Dropout.html#dropout-6",
)


def _float_or_integer(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise ValueError(f"{name} has dtype {x.dtype}; Gemm and MatMul take floating-point or integer tensors")
    return exact(x)


@with_variants(TRANSPOSES_SWAPPED, BETA_IGNORED, ALPHA_IGNORED)
def gemm(A, B, C=None, *, alpha: float = 1.0, beta: float = 1.0, transA: int = 0, transB: int = 0,
         broadcast: int | None = None, opset: int | None = None, variants: frozenset[str] = frozenset()):
    """Y = alpha * A' @ B' + beta * C, with C (optional from opset 11) broadcast to (M, N); before
    opset 7, broadcast only where ``broadcast`` is set."""
    legacy = opset is not None and opset < 7
    if broadcast is not None and opset is not None and not legacy:
        raise ValueError(f"Gemm-{opset} has no broadcast attribute (removed in opset 7)")
    if C is None and opset is not None and opset < 11:
        raise ValueError(f"Gemm-{opset} requires C (optional from opset 11)")
    A, B = _float_or_integer("A", A), _float_or_integer("B", B)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"Gemm takes 2-D A and B, got shapes {A.shape} and {B.shape}")
    if "transposes_swapped" in variants:
        transA, transB = transB, transA
    A_, B_ = (A.T if transA else A), (B.T if transB else B)
    if A_.shape[1] != B_.shape[0]:
        raise ValueError(f"A' {A_.shape} and B' {B_.shape} do not multiply (transA={transA}, transB={transB})")
    alpha = 1.0 if "alpha_ignored" in variants else alpha
    beta = 1.0 if "beta_ignored" in variants else beta
    integer = A.dtype.kind in "iu"
    product = A_ @ B_
    Y = product * (int(alpha) if integer else alpha)
    if C is not None:
        C = _float_or_integer("C", C)
        M, N = Y.shape
        if legacy and not broadcast and C.shape != (M, N):
            raise ValueError(f"Gemm-{opset} without broadcast takes C of shape (M, N) = {(M, N)}, got {C.shape}")
        if C.ndim > 2 or np.broadcast_shapes(C.shape, (M, N)) != (M, N):
            raise ValueError(f"C of shape {C.shape} does not broadcast unidirectionally to (M, N) = {(M, N)}")
        Y = Y + (int(beta) if integer else beta) * C
    return Y


@with_variants(PROMOTED_AXIS_KEPT)
def matmul(A, B, *, variants: frozenset[str] = frozenset()):
    """Y = A @ B with NumPy's rules: batch axes broadcast, 1-D operands promoted and the added axis removed."""
    A, B = _float_or_integer("A", A), _float_or_integer("B", B)
    if A.ndim == 0 or B.ndim == 0:
        raise ValueError(f"MatMul takes operands of rank >= 1, got shapes {A.shape} and {B.shape}")
    if A.shape[-1] != B.shape[-2 if B.ndim > 1 else 0]:
        raise ValueError(f"MatMul: shapes {A.shape} and {B.shape} do not multiply")
    if "promoted_axis_kept" in variants:
        return np.matmul(A[None, :] if A.ndim == 1 else A, B[:, None] if B.ndim == 1 else B)
    return np.matmul(A, B)


@with_variants(NEGATIVE_INDICES_CLAMPED, NEGATIVE_INDICES_ZERO_FILLED)
def gather(data, indices, *, axis: int = 0, variants: frozenset[str] = frozenset()):
    """output = data indexed along ``axis`` by ``indices`` (rank q + r - 1); indices in [-s, s-1]."""
    data, indices = np.asarray(data), np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise ValueError(f"indices must be int32 or int64, got {indices.dtype}")
    if data.ndim == 0:
        raise ValueError("Gather takes data of rank >= 1")
    if not -data.ndim <= axis < data.ndim:
        raise ValueError(f"axis {axis} is outside [-{data.ndim}, {data.ndim - 1}]")
    axis %= data.ndim
    size = data.shape[axis]
    indices = indices.astype(np.int64)
    if indices.size and (indices.min() < -size or indices.max() >= size):
        raise ValueError(f"indices must lie in [-{size}, {size - 1}] for an axis of size {size}")
    negative = indices < 0
    if "negative_indices_clamped" in variants:
        indices = np.where(negative, 0, indices)
    output = np.take(exact(data), indices, axis=axis)
    if "negative_indices_zero_filled" in variants:
        # output axes: data's axes before `axis`, then the index axes, then data's axes after it.
        where = negative.reshape((1,) * axis + negative.shape + (1,) * (data.ndim - axis - 1))
        output = np.where(where, np.zeros((), output.dtype), output)
    return output


def dropout_parameters(ratio, training_mode, *, opset: int | None = None, is_test: int | None = None,
                       variants=frozenset()) -> tuple[float, bool]:
    """(ratio, training) of a Dropout call: ratio (an input from opset 12, an attribute before)
    defaults to 0.5, training_mode to false; before opset 7, Dropout trains unless is_test is set."""
    ratio_value = 0.5 if ratio is None else float(np.asarray(ratio))
    if opset is not None and opset < 12:
        training = opset < 7 and not is_test
    else:
        training = bool(np.asarray(training_mode)) if training_mode is not None else "training_by_default" in variants
    if not 0.0 <= ratio_value < 1.0 and training:
        raise ValueError(f"ratio must lie in [0, 1) in training mode, got {ratio_value}")
    return ratio_value, training


def keep_probability_and_scale(ratio: float, variants=frozenset()) -> tuple[float, float]:
    """The probability of keeping an element and the factor kept elements are multiplied by."""
    if "ratio_is_keep_probability" in variants:
        return ratio, 1.0 / ratio
    return 1.0 - ratio, (1.0 if "not_rescaled" in variants else 1.0 / (1.0 - ratio))


@with_variants(RATIO_IS_KEEP_PROBABILITY, NOT_RESCALED, TRAINING_BY_DEFAULT)
def dropout(data, ratio=None, training_mode=None, *, seed: int | None = None, is_test: int | None = None,
            opset: int | None = None, variants: frozenset[str] = frozenset(), **legacy):
    """(output, mask): data * mask / (1 - ratio) in training mode, else (data, all true). The mask
    is boolean from opset 10; before, it has the data's type ("mask (optional) : T"), 1 and 0.

    The mask of training mode is random by specification; the certification judges a backend's
    by its distribution and its relation to the output (conformance/ops/dense.py), never against
    this one. It is drawn here as ONNX's own test generator draws it, ``uniform(0, 1) >= ratio``
    from NumPy's legacy generator seeded with ``seed`` (0 when absent), so that the reference also
    reproduces ONNX's shipped training-mode cases.
    """
    data = np.asarray(data)
    if data.dtype.kind != "f":
        raise ValueError(f"Dropout takes a floating-point tensor, got {data.dtype}")
    value, training = dropout_parameters(ratio, training_mode, opset=opset, is_test=is_test, variants=variants)
    X = data.astype(np.float64)
    mask_type = bool if opset is None or opset >= 10 else np.float64
    if not training or value == 0:
        return X, np.ones(X.shape, dtype=mask_type)
    keep, scale = keep_probability_and_scale(value, variants)
    mask = np.random.RandomState(0 if seed is None else seed).uniform(0.0, 1.0, X.shape) >= 1.0 - keep
    return X * mask * scale, mask.astype(mask_type)


OPERATORS = {"Gemm": gemm, "MatMul": matmul, "Gather": gather, "Dropout": dropout}
