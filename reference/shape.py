"""Shape and data-movement operators as the ONNX specification defines them.

- Reshape: https://onnx.ai/onnx/operators/onnx__Reshape.html
- Flatten, Squeeze, Unsqueeze, Concat, Split, Transpose, Slice, Pad, Tile, Expand,
  DepthToSpace, SpaceToDepth, ConstantOfShape: https://onnx.ai/onnx/operators/ (one page each)

These operators move, copy or select values without arithmetic, so the results keep the input's
dtype (integers, booleans and floats alike) and are exact. Inputs that older opsets took as
attributes (Squeeze/Unsqueeze ``axes`` until opset 13, Split ``split`` until 13, Slice's
``starts``/``ends``/``axes`` until 10, Pad's ``pads`` and ``value`` until 11, Reshape's ``shape``
in opset 1) arrive under the same parameter names, as lists instead of arrays.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from reference.reductions import axes_list, int_list, normalized_axes
from reference.variants import Variant, with_variants

INT64_MAX = np.iinfo(np.int64).max


def _axis(name: str, axis: int, rank: int) -> int:
    """One axis in ``[-rank, rank-1]``, made non-negative."""
    return normalized_axes([int(axis)], rank, name)[0]


# --- Reshape, Flatten, Squeeze, Unsqueeze -------------------------------------------------------


def reshape_target(input_shape: Sequence[int], shape: Sequence[int], allowzero: int = 0) -> list[int]:
    """The output shape of Reshape: 0 copies the input's dimension (unless allowzero), -1 is inferred."""
    target = list(shape)
    if allowzero not in (0, 1):
        raise ValueError(f"allowzero must be 0 or 1, got {allowzero}")
    if target.count(-1) > 1:
        raise ValueError(f"shape {target} has more than one -1")
    if any(d < -1 for d in target):
        raise ValueError(f"shape {target} has a dimension below -1")
    if allowzero and 0 in target and -1 in target:
        raise ValueError(f"with allowzero=1, shape {target} cannot hold both 0 and -1")
    for i, d in enumerate(target):
        if d == 0 and not allowzero:
            if i >= len(input_shape):
                raise ValueError(f"shape {target} copies dimension {i}, which the input (rank {len(input_shape)}) lacks")
            target[i] = input_shape[i]
    size = int(np.prod(input_shape, dtype=np.int64))
    if -1 in target:
        known = int(np.prod([d for d in target if d != -1], dtype=np.int64))
        if known == 0 or size % known:
            raise ValueError(f"cannot infer the -1 of shape {list(shape)} for an input of shape {list(input_shape)}")
        target[target.index(-1)] = size // known
    if int(np.prod(target, dtype=np.int64)) != size:
        raise ValueError(f"shape {list(shape)} (as {target}) does not hold the {size} elements of shape {list(input_shape)}")
    return target


def reshape(data: np.ndarray, shape=None, *, allowzero: int = 0) -> np.ndarray:
    """The data in row-major order, with the shape of ``reshape_target``."""
    data = np.asarray(data)
    listed = int_list("shape", shape)
    if listed is None:
        raise ValueError("Reshape needs a shape")
    return data.reshape(reshape_target(data.shape, listed, allowzero))


NHWC_ORDER = Variant(
    "nhwc_order",
    "rank-4 NCHW data flattened in NHWC order, as Keras' Flatten does after a channels-last conversion",
    "https://github.com/microsoft/MMdnn/issues/250",
)
AXIS_IGNORED = Variant(
    "axis_ignored",
    "the axis attribute is ignored: everything after the first axis is flattened (Keras' Flatten, torch.nn.Flatten)",
    "https://keras.io/api/layers/reshaping_layers/flatten/",
)
NEGATIVE_AXIS_OFF_BY_ONE = Variant(
    "negative_axis_off_by_one",
    "a negative axis is made non-negative by adding rank + 1 (as for insertion positions) instead of rank",
)


@with_variants(NHWC_ORDER, AXIS_IGNORED, NEGATIVE_AXIS_OFF_BY_ONE)
def flatten(input: np.ndarray, *, axis: int = 1, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """A 2-D matrix (prod(d[:axis]), prod(d[axis:])); axis in [-r, r], negative counted from the back."""
    data = np.asarray(input)
    rank = data.ndim
    if not -rank <= axis <= rank:
        raise ValueError(f"axis {axis} is out of range [{-rank}, {rank}] for rank {rank}")
    if "axis_ignored" in variants:
        axis = 1
    if axis < 0:
        axis += rank + ("negative_axis_off_by_one" in variants)
    axis = min(axis, rank)
    if "nhwc_order" in variants and rank == 4:
        data = data.transpose(0, 2, 3, 1)
    outer = int(np.prod(data.shape[:axis], dtype=np.int64))
    return data.reshape(outer, int(np.prod(data.shape[axis:], dtype=np.int64)))


SQUEEZE_AXES_IGNORED = Variant(
    "axes_ignored",
    "the axes are ignored: every dimension of size 1 is removed (numpy.squeeze without axis)",
)


@with_variants(SQUEEZE_AXES_IGNORED)
def squeeze(data: np.ndarray, axes=None, *, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """The data without the listed size-1 axes (without every size-1 axis when axes is absent)."""
    data = np.asarray(data)
    listed = axes_list(axes)
    if listed is None or "axes_ignored" in variants:
        return data.reshape([d for d in data.shape if d != 1])
    chosen = normalized_axes(listed, data.ndim)
    wrong = [a for a in chosen if data.shape[a] != 1]
    if wrong:
        raise ValueError(f"Squeeze of axes {wrong} whose size is not 1 (shape {list(data.shape)})")
    return data.reshape([d for i, d in enumerate(data.shape) if i not in chosen])


NEGATIVE_AXES_IN_INPUT_RANK = Variant(
    "negative_axes_in_input_rank",
    "each negative axis counted as tf.expand_dims counts a single one (axis + r + 1, r the input's rank)"
    " instead of from the back of the output (axis + r + len(axes)), the dimensions then inserted in"
    " ascending order",
    "https://www.tensorflow.org/api_docs/python/tf/expand_dims",
)
AXES_IN_GIVEN_ORDER = Variant(
    "axes_in_given_order",
    "one dimension inserted per axis in the order given, instead of at the listed output positions",
)


@with_variants(NEGATIVE_AXES_IN_INPUT_RANK, AXES_IN_GIVEN_ORDER)
def unsqueeze(data: np.ndarray, axes=None, *, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """The data with a size-1 dimension at each listed position of the output (rank r + len(axes))."""
    data = np.asarray(data)
    listed = axes_list(axes)
    if not listed:
        raise ValueError("Unsqueeze needs at least one axis")
    output_rank = data.ndim + len(listed)
    if "axes_in_given_order" in variants:
        result = data
        for axis in listed:
            rank = result.ndim + 1
            if not -rank <= axis < rank:
                raise ValueError(f"axis {axis} is out of range for rank {rank}")
            result = np.expand_dims(result, axis % rank)
        return result
    if "negative_axes_in_input_rank" in variants:
        result = data
        for position in sorted(a + data.ndim + 1 if a < 0 else a for a in listed):
            if not 0 <= position <= result.ndim:
                raise ValueError(f"axis {position} is out of range for rank {result.ndim + 1}")
            result = np.expand_dims(result, position)
        return result
    chosen = set(normalized_axes(listed, output_rank))
    shape, dims = [], iter(data.shape)
    for position in range(output_rank):
        shape.append(1 if position in chosen else next(dims))
    return data.reshape(shape)


# --- Concat, Split, Transpose --------------------------------------------------------------------


def concat(*inputs: np.ndarray, axis: int) -> np.ndarray:
    """The inputs joined along ``axis`` (negative counted from the back)."""
    arrays = [np.asarray(x) for x in inputs]
    if not arrays:
        raise ValueError("Concat needs at least one input")
    rank = arrays[0].ndim
    axis = _axis("axis", axis, rank)
    for x in arrays[1:]:
        if x.ndim != rank or any(a != b for i, (a, b) in enumerate(zip(x.shape, arrays[0].shape)) if i != axis):
            raise ValueError(f"Concat inputs differ off axis {axis}: {[list(a.shape) for a in arrays]}")
    return np.concatenate(arrays, axis=axis)


ARRAY_SPLIT_SIZES = Variant(
    "array_split_sizes",
    "an uneven num_outputs split gives the first chunks one extra element (numpy.array_split) instead of"
    " ceil-sized chunks with a smaller last one",
    "https://numpy.org/doc/stable/reference/generated/numpy.array_split.html",
)


def split_sizes(length: int, split: list[int] | None, num_outputs: int | None, output_count: int,
                variants: frozenset[str] = frozenset()) -> list[int]:
    """The sizes of Split's outputs: ``split``, else ``num_outputs`` (or the node's output count)
    chunks of ceil(length / count) elements, the last one smaller."""
    if split is not None:
        if num_outputs is not None:
            raise ValueError("Split takes either the split input or num_outputs, not both")
        if any(s < 0 for s in split) or sum(split) != length:
            raise ValueError(f"split {split} must be non-negative and sum to the axis length {length}")
        if len(split) != output_count:
            raise ValueError(f"split {split} has {len(split)} parts; the node has {output_count} outputs")
        return split
    count = output_count if num_outputs is None else int(num_outputs)
    if count < 1 or count != output_count:
        raise ValueError(f"num_outputs {num_outputs} disagrees with the node's {output_count} outputs")
    if "array_split_sizes" in variants:
        return [length // count + (i < length % count) for i in range(count)]
    chunk = -(-length // count)
    sizes = [min(chunk, max(0, length - i * chunk)) for i in range(count)]
    if length % count and sizes[-1] == 0:
        raise ValueError(f"{length} elements in {count} chunks of {chunk} leave the last one empty;"
                         " the specification's 'last chunk smaller' does not say what happens then")
    return sizes


@with_variants(ARRAY_SPLIT_SIZES)
def split(input: np.ndarray, split=None, *, axis: int = 0, num_outputs: int | None = None,
          output_count: int = 1, variants: frozenset[str] = frozenset()) -> tuple[np.ndarray, ...]:
    """The input cut along ``axis`` into parts of the sizes of ``split_sizes``."""
    data = np.asarray(input)
    axis = _axis("axis", axis, data.ndim)
    sizes = split_sizes(data.shape[axis], int_list("split", split), num_outputs, output_count, variants)
    bounds = np.cumsum([0] + sizes)
    return tuple(np.take(data, np.arange(b, e), axis=axis) for b, e in zip(bounds[:-1], bounds[1:]))


PERM_INVERTED = Variant(
    "perm_inverted",
    "perm read as where each input axis goes (output axis perm[i] is input axis i) instead of"
    " which input axis each output axis takes",
)


@with_variants(PERM_INVERTED)
def transpose(data: np.ndarray, *, perm: Sequence[int] | None = None, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Output axis i is input axis perm[i]; perm defaults to the reversed axes."""
    data = np.asarray(data)
    perm = list(range(data.ndim))[::-1] if perm is None else [int(p) for p in perm]
    if sorted(perm) != list(range(data.ndim)):
        raise ValueError(f"perm {perm} is not a permutation of the {data.ndim} axes")
    if "perm_inverted" in variants:
        perm = list(np.argsort(perm))
    return data.transpose(perm)


# --- Slice ---------------------------------------------------------------------------------------

NEGATIVE_STEP_CLAMPED_LIKE_POSITIVE = Variant(
    "negative_step_clamped_like_positive",
    "with a negative step, ends are clamped to [0, dim] as for a positive step instead of [-1, dim-1]:"
    " slicing backward to the very beginning (INT_MIN, or ends < -dim) loses the first element",
)
STARTS_CLAMPED_LIKE_NUMPY = Variant(
    "starts_clamped_like_numpy",
    "with a negative step, a start below -dim selects nothing (NumPy's and Python's slices, tf.strided_slice)"
    " instead of starting at element 0 (ONNX clamps starts to [0, dim-1])",
    "https://github.com/onnx/onnx/issues/4115",
)
INT_MAX_END_AS_UNBOUNDED = Variant(
    "int_max_end_as_unbounded",
    "an end of INT_MAX (2**31-1 or 2**63-1) read as 'to the end in the step's direction': with a negative"
    " step it runs to element 0 instead of being clamped to dim-1 (an empty slice)",
    "https://github.com/microsoft/onnxruntime/issues/2272",
)
INT_MAX_VALUES = (2**31 - 1, 2**63 - 1)


def slice_bounds(dim: int, start: int, end: int, step: int,
                 variants: frozenset[str] = frozenset()) -> tuple[int, int]:
    """Effective start and end on one axis: negative values get ``dim`` added, then starts are
    clamped to [0, dim] and ends to [0, dim] for a positive step; for a negative step starts to
    [0, dim-1] and ends to [-1, dim-1] (-1: up to and including element 0).

    The clamping text came as a clarification without a new opset (onnx/onnx#3908, #4115): it
    applies to opset 11, whose text only says "similar to numpy", as well. It differs from NumPy's
    slices in one place: a backward start below -dim starts at element 0 instead of selecting nothing.
    """
    if step == 0:
        raise ValueError("Slice steps cannot be 0")
    if step < 0 and end in INT_MAX_VALUES and "int_max_end_as_unbounded" in variants:
        end = -1 - dim
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        return min(max(start, 0), dim), min(max(end, 0), dim)
    if start < 0 and "starts_clamped_like_numpy" in variants:
        return -1, -1
    lowest_end = 0 if "negative_step_clamped_like_positive" in variants else -1
    return min(max(start, 0), dim - 1), min(max(end, lowest_end), dim - 1)


@with_variants(NEGATIVE_STEP_CLAMPED_LIKE_POSITIVE, STARTS_CLAMPED_LIKE_NUMPY, INT_MAX_END_AS_UNBOUNDED)
def slice_(data: np.ndarray, starts=None, ends=None, axes=None, steps=None,
          *, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """Elements start, start + step, ... (before end) on each listed axis; see ``slice_bounds``."""
    data = np.asarray(data)
    starts, ends = int_list("starts", starts), int_list("ends", ends)
    if starts is None or ends is None or len(starts) != len(ends):
        raise ValueError(f"starts {starts} and ends {ends} must both be given, of the same length")
    listed = int_list("axes", axes)
    chosen = list(range(len(starts))) if listed is None else normalized_axes(listed, data.ndim)
    steps = int_list("steps", steps) or [1] * len(starts)
    if not len(chosen) == len(steps) == len(starts):
        raise ValueError(f"starts, ends, axes and steps differ in length: {starts}, {ends}, {listed}, {steps}")
    if len(chosen) > data.ndim:
        raise ValueError(f"{len(chosen)} axes sliced on a tensor of rank {data.ndim}")
    result = data
    for axis, start, end, step in zip(chosen, starts, ends, steps):
        first, last = slice_bounds(data.shape[axis], start, end, step, variants)
        # The positions listed, since a Python slice would read a stop of -1 as "the last element".
        result = np.take(result, np.arange(first, last, step, dtype=np.int64), axis=axis)
    return result


# --- Pad -----------------------------------------------------------------------------------------

PAD_MODES = ("constant", "reflect", "edge", "wrap")
REFLECT_AS_SYMMETRIC = Variant(
    "reflect_as_symmetric",
    "reflect mode mirrors including the edge value (numpy's and TensorFlow's 'symmetric') instead of excluding it",
    "https://www.tensorflow.org/api_docs/python/tf/pad",
)
PADS_INTERLEAVED = Variant(
    "pads_interleaved",
    "pads read as [x1_begin, x1_end, x2_begin, x2_end, ...] (TensorFlow's and PyTorch's pairs flattened)"
    " instead of [x1_begin, x2_begin, ..., x1_end, x2_end, ...]",
    "https://github.com/microsoft/onnxruntime/pull/17325",
)


def pad_widths(rank: int, pads: list[int], axes: list[int] | None) -> list[tuple[int, int]]:
    """(begin, end) per axis from ONNX's ``[x1_begin, x2_begin, ..., x1_end, x2_end, ...]``."""
    chosen = list(range(rank)) if axes is None else normalized_axes(axes, rank)
    if len(pads) != 2 * len(chosen):
        raise ValueError(f"pads has {len(pads)} values; {2 * len(chosen)} expected for {len(chosen)} axes")
    widths = [(0, 0)] * rank
    for i, axis in enumerate(chosen):
        widths[axis] = (pads[i], pads[len(chosen) + i])
    return widths


@with_variants(REFLECT_AS_SYMMETRIC, PADS_INTERLEAVED)
def pad(data: np.ndarray, pads=None, constant_value=None, axes=None, *, mode: str = "constant",
        value: float | None = None, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """The data padded on each axis with ``pads`` (negative pads remove elements).

    constant pads with ``constant_value`` (``value`` before opset 11; default 0); reflect mirrors
    without repeating the edge value, edge repeats it, wrap continues periodically. Negative pads
    remove elements first, then the modes pad the cropped data; the specification says nothing
    about their order, which only matters outside constant mode, so this order is for constant
    mode only: other modes with negative pads raise. Reflect needs pads < dim, wrap pads <= dim,
    and edge a non-empty axis, the ranges where the modes are defined without repetition.
    """
    data = np.asarray(data)
    listed = int_list("pads", pads)
    if listed is None:
        raise ValueError("Pad needs pads")
    if mode not in PAD_MODES:
        raise ValueError(f"mode must be one of {', '.join(PAD_MODES)}, not {mode!r}")
    if "pads_interleaved" in variants:
        listed = listed[0::2] + listed[1::2]
    widths = pad_widths(data.ndim, listed, int_list("axes", axes))
    if any(b < 0 or e < 0 for b, e in widths):
        if mode != "constant":
            raise ValueError(f"negative pads {listed} in {mode} mode: the order of cropping and padding is undefined")
        crop = tuple(np.s_[max(0, -b): d - max(0, -e)] for (b, e), d in zip(widths, data.shape))
        if any(max(0, -b) + max(0, -e) > d for (b, e), d in zip(widths, data.shape)):
            raise ValueError(f"negative pads {listed} remove more than the shape {list(data.shape)} holds")
        data, widths = data[crop], [(max(0, b), max(0, e)) for b, e in widths]
    if mode == "constant":
        fill = constant_value if constant_value is not None else value
        fill = np.asarray(0 if fill is None else fill).reshape(-1)
        if fill.size > 1:
            raise ValueError(f"constant_value must be a scalar, got {fill.size} values")
        fill_value = fill[0] if fill.size else 0
        return np.pad(data, widths, mode="constant", constant_values=np.asarray(fill_value).astype(data.dtype))
    for (b, e), d in zip(widths, data.shape):
        if (b or e) and ((mode == "reflect" and max(b, e) >= d) or (mode == "wrap" and max(b, e) > d) or d == 0):
            raise ValueError(f"{mode} padding of {max(b, e)} on an axis of {d} elements is undefined")
    numpy_mode = {"reflect": "symmetric" if "reflect_as_symmetric" in variants else "reflect",
                  "edge": "edge", "wrap": "wrap"}[mode]
    return np.pad(data, widths, mode=numpy_mode)


# --- Tile, Expand --------------------------------------------------------------------------------

REPEAT_INTERLEAVE = Variant(
    "repeat_interleave",
    "each element repeated in place (numpy.repeat, torch.repeat_interleave) instead of the whole"
    " tensor tiled (numpy.tile, torch.Tensor.repeat)",
    "https://pytorch.org/docs/stable/generated/torch.repeat_interleave.html",
)


@with_variants(REPEAT_INTERLEAVE)
def tile(input: np.ndarray, repeats=None, *, variants: frozenset[str] = frozenset()) -> np.ndarray:
    """The input repeated ``repeats[i]`` times along each axis i (numpy.tile, without broadcasting)."""
    data = np.asarray(input)
    listed = int_list("repeats", repeats)
    if listed is None or len(listed) != data.ndim or min(listed, default=0) < 0:
        raise ValueError(f"repeats {listed} must hold one non-negative count per axis of a rank-{data.ndim} input")
    if "repeat_interleave" in variants:
        for axis, count in enumerate(listed):
            data = np.repeat(data, count, axis=axis)
        return data
    return np.tile(data, listed)


def expand(input: np.ndarray, shape=None) -> np.ndarray:
    """The input broadcast with ``shape`` (both ways: the output shape is their broadcast)."""
    data = np.asarray(input)
    listed = int_list("shape", shape)
    if listed is None or min(listed, default=1) < 0:
        raise ValueError(f"Expand needs a shape of non-negative dimensions, got {listed}")
    try:
        target = np.broadcast_shapes(data.shape, tuple(listed))
    except ValueError:
        raise ValueError(f"shape {listed} does not broadcast with the input's {list(data.shape)}") from None
    return np.broadcast_to(data, target).copy()


def constant_of_shape(input: np.ndarray, *, value=None) -> np.ndarray:
    """A tensor of shape ``input`` holding ``value``'s one element everywhere, of its type: "If not
    specified, it defaults to a tensor of value 0 and datatype float32". ``value`` is the attribute's
    tensor (an ``onnx.TensorProto``, or an array)."""
    shape = int_list("input", input)
    if shape is None or min(shape, default=0) < 0:
        raise ValueError(f"ConstantOfShape needs a shape of non-negative dimensions, got {shape}")
    if value is None:
        fill = np.zeros(1, np.float32)
    else:
        from onnx import TensorProto, numpy_helper

        fill = numpy_helper.to_array(value) if isinstance(value, TensorProto) else np.asarray(value)
    if fill.size != 1:
        raise ValueError(f"ConstantOfShape's value must hold one element, not {fill.size}")
    return np.full(shape, fill.reshape(()), dtype=fill.dtype)


# --- DepthToSpace, SpaceToDepth ------------------------------------------------------------------

MODE_SWAPPED = Variant("mode_swapped", "DCR computed as CRD and CRD as DCR")
BLOCK_TRANSPOSED = Variant(
    "block_transposed",
    "a block's row and column offsets exchanged: depth index (column * blocksize + row) instead of (row * blocksize + column)",
)


def _block_arguments(x: np.ndarray, blocksize: int, mode: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"the input must be 4-D (N, C, H, W), got shape {list(x.shape)}")
    if blocksize < 1:
        raise ValueError(f"blocksize must be >= 1, got {blocksize}")
    if mode not in ("DCR", "CRD"):
        raise ValueError(f"mode must be DCR or CRD, not {mode!r}")


def _mode(mode: str, variants: frozenset[str]) -> str:
    return {"DCR": "CRD", "CRD": "DCR"}[mode] if "mode_swapped" in variants else mode


@with_variants(MODE_SWAPPED, BLOCK_TRANSPOSED)
def depth_to_space(input: np.ndarray, *, blocksize: int, mode: str = "DCR",
                   variants: frozenset[str] = frozenset()) -> np.ndarray:
    """The reshape/transpose/reshape of the specification: DCR reads depth as (row, column, channel),
    CRD as (channel, row, column)."""
    x = np.asarray(input)
    _block_arguments(x, blocksize, mode)
    b, c, h, w = x.shape
    if c % (blocksize * blocksize):
        raise ValueError(f"channels ({c}) must be a multiple of blocksize**2 ({blocksize * blocksize})")
    depth = c // (blocksize * blocksize)
    if _mode(mode, variants) == "DCR":
        blocks = x.reshape(b, blocksize, blocksize, depth, h, w)  # (b, row, col, d, h, w)
        if "block_transposed" in variants:
            blocks = blocks.transpose(0, 2, 1, 3, 4, 5)
        arranged = blocks.transpose(0, 3, 4, 1, 5, 2)
    else:
        blocks = x.reshape(b, depth, blocksize, blocksize, h, w)  # (b, d, row, col, h, w)
        if "block_transposed" in variants:
            blocks = blocks.transpose(0, 1, 3, 2, 4, 5)
        arranged = blocks.transpose(0, 1, 4, 2, 5, 3)
    return arranged.reshape(b, depth, h * blocksize, w * blocksize)


@with_variants(MODE_SWAPPED, BLOCK_TRANSPOSED)
def space_to_depth(input: np.ndarray, *, blocksize: int, mode: str = "DCR",
                   variants: frozenset[str] = frozenset()) -> np.ndarray:
    """The inverse of DepthToSpace in the same mode: output depth (row, column, channel) for DCR,
    (channel, row, column) for CRD (``mode`` exists from opset 28; DCR before)."""
    x = np.asarray(input)
    _block_arguments(x, blocksize, mode)
    b, c, h, w = x.shape
    if h % blocksize or w % blocksize:
        raise ValueError(f"height and width ({h}, {w}) must be multiples of blocksize ({blocksize})")
    blocks = x.reshape(b, c, h // blocksize, blocksize, w // blocksize, blocksize)  # (b, c, h, row, w, col)
    if "block_transposed" in variants:
        blocks = blocks.transpose(0, 1, 2, 5, 4, 3)
    if _mode(mode, variants) == "DCR":
        arranged = blocks.transpose(0, 3, 5, 1, 2, 4)  # (b, row, col, c, h, w)
    else:
        arranged = blocks.transpose(0, 1, 3, 5, 2, 4)  # (b, c, row, col, h, w)
    return arranged.reshape(b, c * blocksize * blocksize, h // blocksize, w // blocksize)


def identity(input: np.ndarray) -> np.ndarray:
    """The input, unchanged (a copy): every value, shape and dtype."""
    return np.array(input, copy=True)


OPERATORS = {
    "Identity": identity,
    "Reshape": reshape,
    "Flatten": flatten,
    "Squeeze": squeeze,
    "Unsqueeze": unsqueeze,
    "Concat": concat,
    "Split": split,
    "Transpose": transpose,
    "Slice": slice_,
    "Pad": pad,
    "Tile": tile,
    "Expand": expand,
    "ConstantOfShape": constant_of_shape,
    "DepthToSpace": depth_to_space,
    "SpaceToDepth": space_to_depth,
}
