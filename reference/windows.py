"""Sliding windows shared by Conv, ConvTranspose and pooling: padding arithmetic and strided views.

The padding follows the ``auto_pad`` and ``pads`` text of the ONNX Conv specification:
https://onnx.ai/onnx/operators/onnx__Conv.html
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

AUTO_PADS = ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")


def effective_kernel(kernel: int, dilation: int) -> int:
    """The extent one dilated kernel covers: ``(kernel - 1) * dilation + 1``."""
    return (kernel - 1) * dilation + 1


def split_padding(total: int, extra_at_end: bool) -> tuple[int, int]:
    """Split ``total`` between begin and end; an odd pixel goes to the end or to the beginning."""
    small, large = total // 2, total - total // 2
    return (small, large) if extra_at_end else (large, small)


def check_auto_pad(auto_pad: str) -> str:
    if auto_pad not in AUTO_PADS:
        raise ValueError(f"auto_pad must be one of {', '.join(AUTO_PADS)}, not {auto_pad!r}")
    return auto_pad


def explicit_pads(pads: Sequence[int] | None, rank: int) -> tuple[list[int], list[int]]:
    """Split ONNX's ``[x1_begin, x2_begin, ..., x1_end, x2_end, ...]`` into begins and ends."""
    if pads is None:
        return [0] * rank, [0] * rank
    pads = [int(p) for p in pads]
    if len(pads) != 2 * rank:
        raise ValueError(f"pads has {len(pads)} values; {2 * rank} expected for {rank} spatial axes")
    if min(pads) < 0:
        raise ValueError(f"pads must be >= 0, got {pads}")
    return pads[:rank], pads[rank:]


def window_pads(
    input_shape: Sequence[int],
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    auto_pad: str,
    pads: Sequence[int] | None,
) -> tuple[list[int], list[int]]:
    """Begin and end padding of a forward sliding-window operator (Conv, pooling).

    SAME_UPPER and SAME_LOWER pad so that ``output = ceil(input / stride)``; an odd total puts
    the extra pixel at the end for SAME_UPPER and at the beginning for SAME_LOWER.
    """
    rank = len(input_shape)
    if check_auto_pad(auto_pad) == "NOTSET":
        return explicit_pads(pads, rank)
    if auto_pad == "VALID":
        return [0] * rank, [0] * rank
    begins, ends = [], []
    for size, k, s, d in zip(input_shape, kernel_shape, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + effective_kernel(k, d) - size)
        begin, end = split_padding(total, extra_at_end=auto_pad == "SAME_UPPER")
        begins.append(begin)
        ends.append(end)
    return begins, ends


def window_output_shape(
    input_shape: Sequence[int],
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    begins: Sequence[int],
    ends: Sequence[int],
) -> list[int]:
    """Output extent of a forward sliding window: ``floor((in + pads - eff_kernel) / s) + 1``."""
    shape = []
    for size, k, s, d, b, e in zip(input_shape, kernel_shape, strides, dilations, begins, ends):
        padded, extent = size + b + e, effective_kernel(k, d)
        if padded < extent:
            raise ValueError(
                f"the padded input ({padded}) is smaller than the dilated kernel ({extent})"
            )
        shape.append((padded - extent) // s + 1)
    return shape


def sliding_windows(
    padded: np.ndarray, kernel_shape: Sequence[int], strides: Sequence[int], dilations: Sequence[int]
) -> np.ndarray:
    """A read-only view ``(N, C, *output, *kernel)`` of every window of an already padded input."""
    lead, spatial = padded.shape[:2], padded.shape[2:]
    output = [
        (size - effective_kernel(k, d)) // s + 1
        for size, k, s, d in zip(spatial, kernel_shape, strides, dilations)
    ]
    step = padded.strides[2:]
    return np.lib.stride_tricks.as_strided(
        padded,
        shape=(*lead, *output, *kernel_shape),
        strides=(
            *padded.strides[:2],
            *(b * s for b, s in zip(step, strides)),
            *(b * d for b, d in zip(step, dilations)),
        ),
        writeable=False,
    )
