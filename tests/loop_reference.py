"""Conv and ConvTranspose written a second time, with loops, straight from the ONNX text.

An independent oracle for the vectorized reference (``reference.conv``): one output (or input)
element and one kernel tap at a time, in the precision of the numbers given (``tests.loop_numbers``:
float64, or mpmath for the exact oracle), with the padding arithmetic recomputed from the
attribute descriptions. It imports nothing from ``reference``, so that a slip in the reference's
index arithmetic cannot hide behind the same slip here. Slow by design: keep inputs small.

- Conv: https://onnx.ai/onnx/operators/onnx__Conv.html
- ConvTranspose: https://onnx.ai/onnx/operators/onnx__ConvTranspose.html
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from tests.loop_numbers import number, numbers, zeros

SAME = ("SAME_UPPER", "SAME_LOWER")
Ints = Sequence[int]


def per_axis(values: Ints | None, count: int, default: int) -> list[int]:
    """An attribute given per spatial axis, or its default on every axis when absent."""
    return [default] * count if values is None else [int(v) for v in values]


def dilated_extent(kernel: int, dilation: int) -> int:
    """How many input positions one dilated kernel spans: ``(kernel - 1) * dilation + 1``."""
    return (kernel - 1) * dilation + 1


def begin_end_of(total: int, larger_half_at_end: bool) -> tuple[int, int]:
    """Split a total padding in two: ``total // 2`` on one side, the (larger) rest on the other.

    This is ConvTranspose's equation read literally (``/`` as Python's floor division); for
    Conv it puts an odd pixel at the end for SAME_UPPER and at the beginning for SAME_LOWER.
    """
    half = total // 2
    return (half, total - half) if larger_half_at_end else (total - half, half)


def conv_pads(input_shape: Ints, kernel_shape: Ints, strides: Ints, dilations: Ints, auto_pad: str,
              pads: Ints | None) -> tuple[list[int], list[int]]:
    """Begin and end padding of every spatial axis of Conv.

    SAME_*: "pad the input so that output_shape[i] = ceil(input_shape[i] / strides[i])";
    ``pads``: "[x1_begin, x2_begin, ..., x1_end, x2_end, ...]".
    """
    rank = len(input_shape)
    if auto_pad == "VALID":
        return [0] * rank, [0] * rank
    if auto_pad in SAME:
        begins, ends = [], []
        for size, k, s, d in zip(input_shape, kernel_shape, strides, dilations):
            output = -(-size // s)  # ceil(size / s)
            # The last window starts at (output - 1) * s and spans the dilated kernel.
            total = max(0, (output - 1) * s + dilated_extent(k, d) - size)
            begin, end = begin_end_of(total, larger_half_at_end=auto_pad == "SAME_UPPER")
            begins.append(begin)
            ends.append(end)
        return begins, ends
    pads = per_axis(pads, 2 * rank, 0)
    return pads[:rank], pads[rank:]


def conv_output_shape(input_shape: Ints, kernel_shape: Ints, strides: Ints, dilations: Ints, begins: Ints,
                      ends: Ints) -> list[int]:
    """How many windows fit along each padded axis: ``(padded - extent) // stride + 1``."""
    return [
        (size + b + e - dilated_extent(k, d)) // s + 1
        for size, k, s, d, b, e in zip(input_shape, kernel_shape, strides, dilations, begins, ends)
    ]


def conv_by_loops(X: np.ndarray, W: np.ndarray, B: np.ndarray | None = None, *, auto_pad: str = "NOTSET",
                  dilations: Ints | None = None, group: int = 1, kernel_shape: Ints | None = None,
                  pads: Ints | None = None, strides: Ints | None = None) -> np.ndarray:
    """Conv, one output element at a time.

    ``Y[n, m, o] = B[m] + sum over the C/group input channels c of m's group and the taps k of
    X[n, c, o * strides + k * dilations - pads_begin] * W[m, c, k]``, where positions outside X
    are the zero padding. ``kernel_shape`` is W's spatial shape (the cases keep them consistent).
    """
    X, W = numbers(X), numbers(W)
    N, C, *input_shape = X.shape
    M, channels_per_group, *kernel = W.shape
    rank = len(input_shape)
    strides, dilations = per_axis(strides, rank, 1), per_axis(dilations, rank, 1)
    begins, ends = conv_pads(input_shape, kernel, strides, dilations, auto_pad, pads)
    output_shape = conv_output_shape(input_shape, kernel, strides, dilations, begins, ends)
    outputs_per_group = M // group
    Y = zeros((N, M, *output_shape), like=X)
    for n, m, o in itertools.product(range(N), range(M), itertools.product(*map(range, output_shape))):
        first_channel = (m // outputs_per_group) * channels_per_group
        total = 0.0 if B is None else number(B[m])
        for c, k in itertools.product(range(channels_per_group), itertools.product(*map(range, kernel))):
            position = [oi * s + ki * d - b for oi, ki, s, d, b in zip(o, k, strides, dilations, begins)]
            if all(0 <= p < size for p, size in zip(position, input_shape)):
                total += X[(n, first_channel + c, *position)] * W[(m, c, *k)]
        Y[(n, m, *o)] = total
    return Y


def conv_transpose_pads(input_shape: Ints, kernel_shape: Ints, strides: Ints, dilations: Ints,
                        output_padding: Ints, auto_pad: str, pads: Ints | None,
                        output_shape: Ints | None) -> tuple[list[int], list[int], list[int]]:
    """Begin pads, end pads and output shape of ConvTranspose, from the equations in its text.

    With ``output_shape`` (or SAME_*, where "output_shape[i] = input_shape[i] * strides[i]"):
    ``total_padding = stride * (in - 1) + output_padding + ((k - 1) * d + 1) - output_shape``,
    split ``total/2`` at the beginning for SAME_UPPER and at the end otherwise. With ``pads``:
    ``output_shape = stride * (in - 1) + output_padding + ((k - 1) * d + 1) - begin - end``.
    An output_shape beyond the full result (ONNX's test_convtranspose_output_shape) makes the
    total negative: -1 splits into pads (0, -1), and the result grows by one element at the end.
    """
    rank = len(input_shape)
    grown = [s * (i - 1) + a + dilated_extent(k, d)
             for i, k, s, d, a in zip(input_shape, kernel_shape, strides, dilations, output_padding)]
    if output_shape is None and auto_pad in SAME:
        output_shape = [i * s for i, s in zip(input_shape, strides)]
    if output_shape is not None:  # "If output_shape is specified pads values are ignored."
        halves = [begin_end_of(g - o, larger_half_at_end=auto_pad == "SAME_UPPER")
                  for g, o in zip(grown, output_shape)]
        return [b for b, _ in halves], [e for _, e in halves], [int(o) for o in output_shape]
    if auto_pad == "VALID":
        return [0] * rank, [0] * rank, grown
    pads = per_axis(pads, 2 * rank, 0)
    begins, ends = pads[:rank], pads[rank:]
    return begins, ends, [g - b - e for g, b, e in zip(grown, begins, ends)]


def conv_transpose_by_loops(X: np.ndarray, W: np.ndarray, B: np.ndarray | None = None, *,
                            auto_pad: str = "NOTSET", dilations: Ints | None = None, group: int = 1,
                            kernel_shape: Ints | None = None, output_padding: Ints | None = None,
                            output_shape: Ints | None = None, pads: Ints | None = None,
                            strides: Ints | None = None) -> np.ndarray:
    """ConvTranspose, one input element and one kernel tap at a time.

    Every ``X[n, c, i]`` adds ``X[n, c, i] * W[c, m, k]`` to output channel m of c's group at
    position ``i * strides + k * dilations`` of the full result, which ``pads`` then crop
    (``output_padding`` only adds elements at the end); ``B[m]`` is added to every element.
    """
    X, W = numbers(X), numbers(W)
    N, C, *input_shape = X.shape
    _, outputs_per_group, *kernel = W.shape
    rank = len(input_shape)
    strides, dilations = per_axis(strides, rank, 1), per_axis(dilations, rank, 1)
    output_padding = per_axis(output_padding, rank, 0)
    begins, ends, shape = conv_transpose_pads(input_shape, kernel, strides, dilations, output_padding,
                                              auto_pad, pads, output_shape)
    channels_per_group = C // group
    Y = zeros((N, group * outputs_per_group, *shape), like=X)
    for n, c, i in itertools.product(range(N), range(C), itertools.product(*map(range, input_shape))):
        first_output = (c // channels_per_group) * outputs_per_group
        for m, k in itertools.product(range(outputs_per_group), itertools.product(*map(range, kernel))):
            position = [ii * s + ki * d - b for ii, ki, s, d, b in zip(i, k, strides, dilations, begins)]
            if all(0 <= p < size for p, size in zip(position, shape)):
                Y[(n, first_output + m, *position)] += X[(n, c, *i)] * W[(c, m, *k)]
    if B is not None:
        for m in range(Y.shape[1]):
            Y[:, m] += number(B[m])
    return Y


BY_LOOPS = {"Conv": conv_by_loops, "ConvTranspose": conv_transpose_by_loops}
