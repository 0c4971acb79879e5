"""Gemm, MatMul, Gather and Dropout lowered to TensorFlow.

- Gemm: ``tf.linalg.matmul`` with ``transpose_a``/``transpose_b``, then alpha and beta * C
  (TensorFlow broadcasts C as NumPy does). Before opset 7, C is broadcast only where the
  ``broadcast`` attribute (default 0) is set; without it C must have Y's shape (M, N), and any
  other C is refused rather than broadcast. Gemm-6 does not say how a broadcast C lines up; NumPy's
  rules give the legacy rule's (size 1, or a suffix of (M, N)) value wherever that rule applies.
- MatMul: ``tf.linalg.matmul`` broadcasts batch axes but takes no 1-D operand; a 1-D operand is
  promoted to a row (first) or a column (second) and the added axis removed afterwards, as
  numpy.matmul defines it.
- Gather: ``tf.gather`` rejects negative indices on the CPU, so they are first wrapped into
  [0, s) (index + s), as ONNX defines them.
- Dropout: the identity outside training mode, with a mask of ones (of the data's type before
  opset 10, whose text leaves an inference mask's values unsaid: they are not judged). In training mode
  ``tf.nn.experimental.stateless_dropout`` drops and scales the data; the mask is that same
  kernel applied with the same seed to a tensor of ones. Its randomness cannot match another
  backend's, so it is judged statistically (conformance/ops/dense.py). The seed is ONNX's
  ``seed`` attribute, or a fresh one per call.
"""

from __future__ import annotations

import secrets

import numpy as np

from conformance.errors import Unsupported


def gemm(tf, A, B, C=None, *, alpha=1.0, beta=1.0, transA=0, transB=0, broadcast=0, opset):
    Y = tf.linalg.matmul(A, B, transpose_a=bool(transA), transpose_b=bool(transB))
    cast = int if Y.dtype.is_integer else float
    if alpha != 1.0:
        Y = Y * tf.constant(cast(alpha), dtype=Y.dtype)
    if C is not None and opset < 7 and not broadcast and list(C.shape) != list(Y.shape):
        raise ValueError(f"Gemm-{opset} without broadcast=1 takes C of shape (M, N) = {list(Y.shape)},"
                         f" not {list(C.shape)}")
    if C is not None:
        Y = Y + tf.constant(cast(beta), dtype=Y.dtype) * C if beta != 1.0 else Y + C
    return Y


def matmul(tf, A, B):
    left, right = len(A.shape) == 1, len(B.shape) == 1
    if left:
        A = tf.expand_dims(A, 0)
    if right:
        B = tf.expand_dims(B, -1)
    Y = tf.linalg.matmul(A, B)
    added = ([-2] if left else []) + ([-1] if right else [])
    return tf.squeeze(Y, added) if added else Y


def gather(tf, data, indices, *, axis=0):
    size = tf.constant(data.shape[axis], dtype=indices.dtype)
    wrapped = tf.where(indices < 0, indices + size, indices)
    return tf.gather(data, wrapped, axis=axis)


def dropout(tf, data, ratio=None, training_mode=None, *, seed=None, opset=None, is_test=None, **legacy):
    if opset is not None and opset < 12:
        # The ratio is an attribute; training only before opset 7, where is_test is not set.
        if opset < 7 and not is_test:
            raise Unsupported("Dropout before opset 7 in training mode (is_test=0) is not lowered")
        mask_type = data.dtype if opset < 10 else tf.bool  # "mask: T" before opset 10, "T1: tensor(bool)" from it
        return [tf.identity(data), tf.ones(data.shape, dtype=mask_type)]
    rate = 0.5 if ratio is None else float(np.asarray(ratio))
    training = training_mode is not None and bool(np.asarray(training_mode))
    if not training or rate == 0:
        return [tf.identity(data), tf.ones(data.shape, dtype=tf.bool)]
    # ONNX: "if not specified we will auto generate one".
    seeds = [int(seed) if seed is not None else secrets.randbelow(2**31), 0]
    output = tf.nn.experimental.stateless_dropout(data, rate=rate, seed=seeds)
    kept = tf.nn.experimental.stateless_dropout(tf.ones_like(data), rate=rate, seed=seeds) != 0
    return [output, kept]


LOWERINGS = {"Gemm": gemm, "MatMul": matmul, "Gather": gather, "Dropout": dropout}
