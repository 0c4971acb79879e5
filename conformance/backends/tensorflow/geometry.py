"""Window geometry of the TensorFlow lowerings, written from the ONNX operator texts.

The TensorFlow column must not borrow the reference's arithmetic: a mistake there would then agree
with itself. These few formulas are derived again from the specification, as
``onnx.defs.get_schema(op_type).doc`` and its attribute descriptions state them (Conv, MaxPool,
AveragePool, LpPool, ConvTranspose): https://onnx.ai/onnx/operators/onnx__Conv.html

- ``pads`` is ``[x1_begin, x2_begin, ..., x1_end, x2_end, ...]``, zero when absent.
- SAME_UPPER / SAME_LOWER pad "so that ``output_shape[i] = ceil(input_shape[i] / strides[i])``",
  the total being ``(output - 1) * stride + ((kernel - 1) * dilation + 1) - input``; "in case the
  padding is an odd number, the extra padding is added at the end for SAME_UPPER and at the
  beginning for SAME_LOWER". A negative total (a stride longer than the kernel) pads nothing, as
  TensorFlow's own SAME does in 1-D and 2-D and on oneDNN (its Eigen 3-D kernels keep the negative
  total; where a lowering hands SAME_UPPER to TensorFlow's own SAME, that reaches the result).
- Pooling outputs: ``floor((input + pad_shape - dilated kernel) / stride) + 1``, or ``ceil`` with
  ceil_mode and explicit pads, where "sliding windows that would start in the right padded region
  are ignored"; under auto_pad the spec's ceil and floor formulas give the same shape.
- ConvTranspose: the full result has ``stride * (input - 1) + output_padding + dilated kernel``
  elements, ``pads`` crop it, and under ``output_shape`` or SAME_* the crop is
  ``total_padding = full - output_shape``, split ``total/2`` at the beginning for SAME_UPPER and
  ``total - total/2`` otherwise (``/`` rounding down, as ONNX's test data have it).
"""

from __future__ import annotations

from typing import Sequence


def dilated_kernel(kernel: int, dilation: int) -> int:
    """The extent a dilated kernel covers: ``(kernel - 1) * dilation + 1``."""
    return (kernel - 1) * dilation + 1


def begin_end_pads(pads: Sequence[int] | None, rank: int) -> tuple[list[int], list[int]]:
    """ONNX's ``pads`` ``[x1_begin, ..., x1_end, ...]`` as (begins, ends); zeros when absent."""
    if not pads:
        return [0] * rank, [0] * rank
    return [int(p) for p in pads[:rank]], [int(p) for p in pads[rank:]]


def same_pads(size: int, kernel: int, stride: int, dilation: int, auto_pad: str) -> tuple[int, int]:
    """(begin, end) padding of one axis under SAME_UPPER or SAME_LOWER."""
    output = -(-size // stride)
    total = max(0, (output - 1) * stride + dilated_kernel(kernel, dilation) - size)
    half = total // 2
    return (half, total - half) if auto_pad == "SAME_UPPER" else (total - half, half)


def forward_pads(input_shape: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
                 dilations: Sequence[int], auto_pad: str, pads: Sequence[int] | None) -> tuple[list[int], list[int]]:
    """(begins, ends) of a Conv or pooling node: explicit pads, none for VALID, or SAME's."""
    rank = len(input_shape)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        halves = [same_pads(n, k, s, d, auto_pad) for n, k, s, d in zip(input_shape, kernel, strides, dilations)]
        return [b for b, _ in halves], [e for _, e in halves]
    if auto_pad == "VALID":
        return [0] * rank, [0] * rank
    return begin_end_pads(pads, rank)


def pool_windows(input_shape: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int],
                 auto_pad: str, pads: Sequence[int] | None, ceil_mode: int
                 ) -> tuple[list[int], list[int], list[int], list[int]]:
    """(begins, ends, overhang, output) of a pooling node.

    ``overhang`` is how far the last ceil-mode window reaches past the end padding: those taps are
    outside the padded input (no element, no padding).
    """
    begins, ends = forward_pads(input_shape, kernel, strides, dilations, auto_pad, pads)
    ceil = bool(ceil_mode) and auto_pad == "NOTSET"
    output, overhang = [], []
    for n, k, s, d, b, e in zip(input_shape, kernel, strides, dilations, begins, ends):
        span = n + b + e - dilated_kernel(k, d)
        count = (-(-span // s) if ceil else span // s) + 1
        if ceil and (count - 1) * s >= n + b:  # this last window would start in the end padding
            count -= 1
        output.append(count)
        overhang.append(max(0, (count - 1) * s + dilated_kernel(k, d) - (n + b + e)))
    return begins, ends, overhang, output


def conv_transpose_crop(input_shape: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
                        dilations: Sequence[int], output_padding: Sequence[int], auto_pad: str,
                        pads: Sequence[int] | None, output_shape: Sequence[int] | None) -> tuple[list[int], list[int]]:
    """(begins, output shape): where ConvTranspose's output starts in its full transposed result, and its size.

    A negative begin, or an output reaching past the full result, is filled with zeros.
    """
    rank = len(input_shape)
    full = [s * (n - 1) + p + dilated_kernel(k, d)
            for n, k, s, d, p in zip(input_shape, kernel, strides, dilations, output_padding)]
    if output_shape is None and auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        output_shape = [n * s for n, s in zip(input_shape, strides)]
    if output_shape is not None:
        totals = [f - int(o) for f, o in zip(full, output_shape)]
        begins = [t // 2 if auto_pad == "SAME_UPPER" else t - t // 2 for t in totals]
        return begins, [int(o) for o in output_shape]
    if auto_pad == "VALID":
        return [0] * rank, full
    begins, ends = begin_end_pads(pads, rank)
    return begins, [f - b - e for f, b, e in zip(full, begins, ends)]
