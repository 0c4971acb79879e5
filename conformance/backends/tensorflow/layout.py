"""Layout changes at the TensorFlow backend's border: ONNX's channels-first tensors, and kernels,
permuted to the channels-last ones TensorFlow's CPU kernels take, and back.

A permutation moves values without computing any, so it is done in NumPy on the eager tensor's
buffer: TensorFlow's own Transpose costs 0.1 to 0.25 ms a call (oneDNN's is compiled again for
each new shape), and a convolution needs three, more than the convolution itself (measured on
TensorFlow 2.21: a Conv case ran in 2.4 ms with ``tf.transpose``, 1.8 ms with this). ONNX's
Transpose operator stays ``tf.transpose`` (``shape``): there the permutation is what is certified.
The backend runs eagerly, so every tensor here has its values.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def permuted(tf, x, axes: Sequence[int]):
    """``x`` (an eager tensor or an array) with its axes in the order ``axes``, as a tensor."""
    return tf.constant(np.ascontiguousarray(np.transpose(np.asarray(x), axes)))


def channels_last(tf, x):
    """(N, C, D1, ..., Dk) to (N, D1, ..., Dk, C)."""
    rank = len(x.shape)
    return permuted(tf, x, [0, *range(2, rank), 1])


def channels_first(tf, x):
    """(N, D1, ..., Dk, C) to (N, C, D1, ..., Dk)."""
    rank = len(x.shape)
    return permuted(tf, x, [0, rank - 1, *range(1, rank - 1)])
