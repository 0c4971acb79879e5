"""Conv and ConvTranspose as the ONNX specification defines them, in float64.

- Conv: https://onnx.ai/onnx/operators/onnx__Conv.html
- ConvTranspose: https://onnx.ai/onnx/operators/onnx__ConvTranspose.html

Both compute cross-correlation (the kernel is not flipped) on NCHW-style tensors with OIHW-style
kernels, for 1 to 3 (or more) spatial axes.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from reference.variants import Variant, with_variants
from reference.windows import (
    effective_kernel,
    explicit_pads,
    sliding_windows,
    split_padding,
    check_auto_pad,
    window_output_shape,
    window_pads,
)

FLIPPED_KERNEL = Variant(
    "flipped_kernel",
    "true convolution: the kernel is flipped along every spatial axis (Theano, Lasagne, Flux)",
    "https://lasagne.readthedocs.io/en/latest/modules/layers/conv.html",
)
SAME_UPPER_LOWER_SWAPPED = Variant(
    "same_upper_lower_swapped",
    "SAME_UPPER puts the odd padding pixel at the beginning and SAME_LOWER at the end",
    "https://github.com/microsoft/onnxruntime/issues/9370",
)
PADS_BEGIN_END_SWAPPED = Variant(
    "pads_begin_end_swapped",
    "explicit pads read as [x1_end, ..., x1_begin, ...]: begin and end padding exchanged",
)
DILATIONS_IGNORED = Variant("dilations_ignored", "the dilations attribute is ignored")
BIAS_IGNORED = Variant("bias_ignored", "the bias input B is ignored")
CONV_VARIANTS = (
    FLIPPED_KERNEL,
    SAME_UPPER_LOWER_SWAPPED,
    PADS_BEGIN_END_SWAPPED,
    DILATIONS_IGNORED,
    BIAS_IGNORED,
)


def _float64(name: str, array: np.ndarray, rank: int | None = None) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    if rank is not None and array.ndim != rank:
        raise ValueError(f"{name} must have rank {rank}, got shape {array.shape}")
    return array.astype(np.float64)


def _per_axis(name: str, values: Sequence[int] | None, rank: int, default: int = 1) -> list[int]:
    if values is None:
        return [default] * rank
    values = [int(v) for v in values]
    if len(values) != rank:
        raise ValueError(f"{name} has {len(values)} values; {rank} expected")
    return values


def _geometry(X, W, kernel_shape, strides, dilations, group, variants):
    """Validate the shared Conv/ConvTranspose operands; apply the kernel-side variants."""
    if X.ndim < 3:
        raise ValueError(f"X must have rank >= 3 (N, C, spatial...), got shape {X.shape}")
    rank = X.ndim - 2
    if W.ndim != X.ndim:
        raise ValueError(f"W must have the rank of X ({X.ndim}), got shape {W.shape}")
    if kernel_shape is not None and list(kernel_shape) != list(W.shape[2:]):
        raise ValueError(f"kernel_shape {list(kernel_shape)} disagrees with W's shape {W.shape}")
    if group < 1:
        raise ValueError(f"group must be >= 1, got {group}")
    strides = _per_axis("strides", strides, rank)
    dilations = _per_axis("dilations", dilations, rank)
    if min(strides) < 1 or min(dilations) < 1:
        raise ValueError(f"strides and dilations must be >= 1, got {strides} and {dilations}")
    if "dilations_ignored" in variants:
        dilations = [1] * rank
    if "flipped_kernel" in variants:
        W = W[(slice(None), slice(None)) + (slice(None, None, -1),) * rank]
    return rank, W, strides, dilations


def _add_bias(Y: np.ndarray, B: np.ndarray | None, variants: frozenset[str]) -> np.ndarray:
    if B is None or "bias_ignored" in variants:
        return Y
    B = _float64("B", B, rank=1)
    if B.shape[0] != Y.shape[1]:
        raise ValueError(f"B has {B.shape[0]} values; {Y.shape[1]} output channels expected")
    return Y + B.reshape((1, -1) + (1,) * (Y.ndim - 2))


def _swap_same(auto_pad: str, variants: frozenset[str]) -> str:
    if "same_upper_lower_swapped" in variants:
        return {"SAME_UPPER": "SAME_LOWER", "SAME_LOWER": "SAME_UPPER"}.get(auto_pad, auto_pad)
    return auto_pad


def _swap_pads(pads: Sequence[int] | None, variants: frozenset[str]) -> Sequence[int] | None:
    if "pads_begin_end_swapped" in variants and pads is not None:
        half = len(pads) // 2
        return list(pads[half:]) + list(pads[:half])
    return pads


@with_variants(*CONV_VARIANTS)
def conv(
    X: np.ndarray,
    W: np.ndarray,
    B: np.ndarray | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: Sequence[int] | None = None,
    group: int = 1,
    kernel_shape: Sequence[int] | None = None,
    pads: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    variants: frozenset[str] = frozenset(),
) -> np.ndarray:
    """Y[n, m, o] = B[m] + sum over c in m's group and kernel taps k of X_padded[n, c, o*s + k*d] * W[m, c, k]."""
    X, W = _float64("X", X), _float64("W", W)
    rank, W, strides, dilations = _geometry(X, W, kernel_shape, strides, dilations, group, variants)
    N, C, M, kernel = X.shape[0], X.shape[1], W.shape[0], W.shape[2:]
    if C % group or M % group or W.shape[1] != C // group:
        raise ValueError(
            f"group={group} needs C ({C}) and M ({M}) divisible by it and W.shape[1] == C/group;"
            f" got W shape {W.shape}"
        )
    begins, ends = window_pads(
        X.shape[2:], kernel, strides, dilations, _swap_same(auto_pad, variants), _swap_pads(pads, variants)
    )
    output_shape = window_output_shape(X.shape[2:], kernel, strides, dilations, begins, ends)
    padded = np.pad(X, [(0, 0), (0, 0)] + list(zip(begins, ends))) if any(begins + ends) else X
    # Windows (N, C, *out, *kernel) laid out as columns (N, group, C/group * prod(kernel), prod(out)):
    # then one matrix product per group, (M/group, C/group * prod(kernel)) @ columns.
    windows = sliding_windows(padded, kernel, strides, dilations)
    order = (0, 1, *range(2 + rank, 2 + 2 * rank), *range(2, 2 + rank))
    columns = windows.transpose(order).reshape(N, group, -1, int(np.prod(output_shape)))
    Y = np.matmul(W.reshape(group, M // group, -1), columns)  # (N, group, M/group, prod(out))
    return _add_bias(Y.reshape(N, M, *output_shape), B, variants)


def conv_transpose_pads(
    input_shape: Sequence[int],
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    output_padding: Sequence[int],
    auto_pad: str,
    pads: Sequence[int] | None,
    output_shape: Sequence[int] | None,
) -> tuple[list[int], list[int], list[int]]:
    """Begin pads, end pads and output shape of ConvTranspose, from the equations in its spec.

    The full result of a transposed convolution has ``s*(in-1) + eff_kernel`` elements per axis;
    ``pads`` crop it and ``output_padding`` extends it at the end. When ``output_shape`` is given,
    or ``auto_pad`` is SAME_*, the total crop follows from the target shape and is split with the
    larger half at the end for SAME_UPPER and at the beginning otherwise. The spec's
    ``total_padding/2`` is floor division, as in ONNX's own test data: an output_shape one larger
    than the full result (total -1) extends it by one zero at the end (test_convtranspose_output_shape).
    A negative pad extends the result with zeros on its side.
    """
    rank = len(input_shape)
    full = [s * (i - 1) + effective_kernel(k, d) for i, k, s, d in zip(input_shape, kernel_shape, strides, dilations)]
    grown = [f + p for f, p in zip(full, output_padding)]
    if check_auto_pad(auto_pad) in ("SAME_UPPER", "SAME_LOWER") and output_shape is None:
        output_shape = [i * s for i, s in zip(input_shape, strides)]
    if output_shape is not None:
        output_shape = _per_axis("output_shape", output_shape, rank)
        if min(output_shape) < 1:
            raise ValueError(f"output_shape must be >= 1 on every axis, got {output_shape}")
        halves = [split_padding(g - o, extra_at_end=auto_pad == "SAME_UPPER") for g, o in zip(grown, output_shape)]
        return [b for b, _ in halves], [e for _, e in halves], output_shape
    if auto_pad == "VALID":
        return [0] * rank, [0] * rank, grown
    begins, ends = explicit_pads(pads, rank)
    shape = [g - b - e for g, b, e in zip(grown, begins, ends)]
    if min(shape) < 1:
        raise ValueError(f"pads {list(pads)} crop the whole output (full shape {grown})")
    return begins, ends, shape


def crop_transposed(full: np.ndarray, begins: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """The output window ``[begin, begin + size)`` on each spatial axis of the full transposed
    result, which is zero outside its extent (negative pads, output_padding)."""
    spatial = full.shape[-len(shape):]
    lead = len(full.shape) - len(shape)
    extend = [(max(0, -b), max(0, b + o - f)) for b, o, f in zip(begins, shape, spatial)]
    if any(before or after for before, after in extend):
        full = np.pad(full, [(0, 0)] * lead + extend)
    window = tuple(slice(b + before, b + before + o) for b, o, (before, _) in zip(begins, shape, extend))
    return full[(Ellipsis, *window)]


@with_variants(*CONV_VARIANTS)
def conv_transpose(
    X: np.ndarray,
    W: np.ndarray,
    B: np.ndarray | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: Sequence[int] | None = None,
    group: int = 1,
    kernel_shape: Sequence[int] | None = None,
    output_padding: Sequence[int] | None = None,
    output_shape: Sequence[int] | None = None,
    pads: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    variants: frozenset[str] = frozenset(),
) -> np.ndarray:
    """Y = crop(sum over input positions i and taps k of X[n, c, i] * W[c, m, k] placed at i*s + k*d) + B."""
    X, W = _float64("X", X), _float64("W", W)
    rank, W, strides, dilations = _geometry(X, W, kernel_shape, strides, dilations, group, variants)
    N, C, kernel, input_shape = X.shape[0], X.shape[1], W.shape[2:], X.shape[2:]
    if C % group or W.shape[0] != C:
        raise ValueError(f"group={group} needs W.shape[0] == C ({C}) divisible by it; got W shape {W.shape}")
    M_per_group = W.shape[1]
    output_padding = _per_axis("output_padding", output_padding, rank, default=0)
    begins, ends, shape = conv_transpose_pads(
        input_shape, kernel, strides, dilations, output_padding,
        _swap_same(auto_pad, variants), _swap_pads(pads, variants), output_shape,
    )
    # Every tap's contribution at once: (N, group, M/group, *input, *kernel).
    taps = np.einsum(
        "ngc...,gcmk->ngm...k",
        X.reshape(N, group, C // group, *input_shape),
        W.reshape(group, C // group, M_per_group, -1),
    )
    full = np.zeros((N, group, M_per_group, *(s * (i - 1) + effective_kernel(k, d)
                                                for i, k, s, d in zip(input_shape, kernel, strides, dilations))))
    # One strided accumulation per kernel tap: input position i lands on i*s + k*d.
    for flat, tap in enumerate(itertools.product(*(range(k) for k in kernel))):
        target = tuple(slice(t * d, t * d + (i - 1) * s + 1, s)
                       for t, d, i, s in zip(tap, dilations, input_shape, strides))
        full[(Ellipsis, *target)] += taps[..., flat]
    Y = crop_transposed(full, begins, shape)
    return _add_bias(Y.reshape(N, group * M_per_group, *shape), B, variants)


OPERATORS = {"Conv": conv, "ConvTranspose": conv_transpose}
