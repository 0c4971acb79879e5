"""The reductions and the shape operators written a second time, one output element at a time.

An independent oracle for the vectorized references (``reference.reductions``, ``reference.shape``):
each output element is computed from the ONNX text by index arithmetic, in plain Python loops. It
imports nothing from ``reference``, so that a slip in the reference's index arithmetic cannot hide
behind the same slip here. Slow by design: the drawn cases have at most a few thousand elements.

The reductions compute in the precision of the numbers given (``tests.loop_numbers``): float64 for
float arrays, mpmath's working precision for object arrays of mpf (the exact oracle), whose results
are object arrays of mpf. The shape operators only move elements, and keep the input's dtype
(object included).

Every function takes the case's inputs (in order, ``None`` for an omitted one), its attributes and
its opset, like the reference, and returns a tuple of outputs.
"""

from __future__ import annotations

import itertools
import math
import operator
from functools import reduce
from typing import Any, Sequence

import numpy as np

from tests.loop_numbers import exp, fsum, log, number_like, sqrt


def _ints(values: Any) -> list[int] | None:
    return None if values is None else [int(v) for v in np.asarray(values).reshape(-1)]


# -- reductions ---------------------------------------------------------------------------------


def _reduction_axes(rank: int, axes: list[int] | None, noop: int) -> list[int]:
    if not axes:
        return [] if noop else list(range(rank))
    return sorted(a + rank if a < 0 else a for a in axes)


# What a floating-point reduction over no values gives (ReduceMean's is undefined).
_OVER_NO_VALUES = {"ReduceSum": 0, "ReduceProd": 1, "ReduceL1": 0, "ReduceL2": 0, "ReduceSumSquare": 0,
                   "ReduceMax": -math.inf, "ReduceMin": math.inf, "ReduceLogSumExp": -math.inf}


def _combine(op_type: str, values: list, data: np.ndarray):
    """One output element from the values reduced into it, straight from each operator's definition."""
    dtype = data.dtype
    if dtype.kind == "b":
        return any(values) if op_type == "ReduceMax" else all(values)
    floats = dtype.kind == "f" or dtype == object  # an object array holds mpf numbers
    if floats and not values and op_type in _OVER_NO_VALUES:
        return number_like(_OVER_NO_VALUES[op_type], data)
    if op_type == "ReduceSum":
        return fsum(values) if floats else sum(values)
    if op_type == "ReduceMean":
        if floats:
            return fsum(values) / len(values)
        total = sum(values)
        return -(-total // len(values)) if total < 0 else total // len(values)  # toward zero
    if op_type == "ReduceMax":
        return max(values) if values else int(np.iinfo(dtype).min)
    if op_type == "ReduceMin":
        return min(values) if values else int(np.iinfo(dtype).max)
    if op_type == "ReduceProd":
        return reduce(operator.mul, values, 1)  # in the values' own arithmetic (Python ints: no overflow)
    if op_type == "ReduceL1":
        return fsum(abs(v) for v in values) if floats else sum(abs(v) for v in values)
    if op_type == "ReduceL2":
        return sqrt(fsum(v * v for v in values))
    if op_type == "ReduceSumSquare":
        return fsum(v * v for v in values) if floats else sum(v * v for v in values)
    if op_type == "ReduceLogSumExp":
        if not values:
            return -math.inf
        top = max(values)
        return top + log(fsum(exp(v - top) for v in values))
    raise KeyError(op_type)


def _noop_step(op_type: str, value):
    """What a composite reduction still does over an empty set of axes."""
    if op_type in ("ReduceL1", "ReduceL2"):
        return abs(value)
    if op_type == "ReduceSumSquare":
        return value * value
    return value


def reduction_by_loops(op_type: str, data: np.ndarray, axes=None, *, keepdims: int = 1,
                       noop_with_empty_axes: int = 0) -> np.ndarray:
    """Every output element as the operator applied to the input elements that share its kept indices."""
    data = np.asarray(data)
    rank = data.ndim
    reduced = _reduction_axes(rank, _ints(axes), noop_with_empty_axes)
    kept_shape = [1 if i in reduced else d for i, d in enumerate(data.shape)]
    values = data.tolist() if rank else data.item()
    out = np.empty(kept_shape, dtype=object)
    for index in itertools.product(*(range(d) for d in kept_shape)):
        ranges = [range(data.shape[i]) if i in reduced else [index[i]] for i in range(rank)]
        group = []
        for source in itertools.product(*ranges):
            element = values
            for i in source:
                element = element[i]
            group.append(element)
        if not reduced:
            out[index] = _noop_step(op_type, group[0])
        else:
            out[index] = _combine(op_type, group, data)
    if not keepdims:
        out = out.reshape([d for i, d in enumerate(kept_shape) if i not in reduced])
    if data.dtype == object:
        return out  # mpf numbers, as computed
    kind = np.float64 if data.dtype.kind == "f" else data.dtype
    # reshaped: the nested lists of an empty array lose its trailing dimensions
    return np.asarray(out.tolist() if out.ndim else out.item(), dtype=kind).reshape(out.shape)


# -- shape and data movement ----------------------------------------------------------------------


def _positions(shape: Sequence[int]):
    return itertools.product(*(range(d) for d in shape))


def slice_by_loops(data: np.ndarray, starts, ends, axes=None, steps=None) -> np.ndarray:
    """The indices of each sliced axis listed one by one, from the clamping rules of the text."""
    data = np.asarray(data)
    starts, ends = _ints(starts), _ints(ends)
    axes = list(range(len(starts))) if axes is None else [a + data.ndim if a < 0 else a for a in _ints(axes)]
    steps = _ints(steps) or [1] * len(starts)
    chosen = [list(range(d)) for d in data.shape]
    for axis, start, end, step in zip(axes, starts, ends, steps):
        dim = data.shape[axis]
        if start < 0:
            start += dim
        if end < 0:
            end += dim
        if step > 0:
            start, end = max(0, min(start, dim)), max(0, min(end, dim))
        else:
            start, end = max(0, min(start, dim - 1)), max(-1, min(end, dim - 1))
        picked, i = [], start
        while (step > 0 and i < end) or (step < 0 and i > end):
            picked.append(i)
            i += step
        chosen[axis] = picked
    out = np.empty([len(c) for c in chosen], dtype=data.dtype)
    for index in _positions(out.shape):
        out[index] = data[tuple(c[i] for c, i in zip(chosen, index))]
    return out


def _source(mode: str, position: int, dim: int) -> int | None:
    """Where a padded position reads from on an axis of ``dim`` (None: the constant)."""
    if 0 <= position < dim:
        return position
    if mode == "constant":
        return None
    if mode == "edge":
        return 0 if position < 0 else dim - 1
    if mode == "wrap":
        return position % dim
    # reflect: mirrored on the first and last values, which are not repeated
    return -position if position < 0 else 2 * (dim - 1) - position


def pad_by_loops(data: np.ndarray, pads, constant_value=None, axes=None, *, mode: str = "constant",
                 value=None) -> np.ndarray:
    """Each output element read from its source position on every axis (begins may be negative)."""
    data = np.asarray(data)
    pads = _ints(pads)
    axes = list(range(data.ndim)) if axes is None else [a + data.ndim if a < 0 else a for a in _ints(axes)]
    begins, ends = [0] * data.ndim, [0] * data.ndim
    for i, axis in enumerate(axes):
        begins[axis], ends[axis] = pads[i], pads[len(axes) + i]
    fill = np.asarray(constant_value if constant_value is not None else (0 if value is None else value))
    fill = fill.astype(data.dtype)
    if data.dtype == object:  # an mpf element (an object array would hold a 0-d array as one)
        fill = number_like(fill.item(), data)
    out = np.empty([d + b + e for d, b, e in zip(data.shape, begins, ends)], dtype=data.dtype)
    for index in _positions(out.shape):
        sources = [_source(mode, i - b, d) for i, b, d in zip(index, begins, data.shape)]
        out[index] = fill if None in sources else data[tuple(sources)]
    return out


def depth_to_space_by_loops(x: np.ndarray, *, blocksize: int, mode: str = "DCR") -> np.ndarray:
    """y[b, c, h*bs + i, w*bs + j] = x[b, depth index of (c, i, j), h, w]."""
    n, channels, height, width = x.shape
    bs, depth = blocksize, channels // (blocksize * blocksize)
    out = np.empty((n, depth, height * bs, width * bs), dtype=x.dtype)
    for b, c, y, z in _positions(out.shape):
        h, i, w, j = y // bs, y % bs, z // bs, z % bs
        source = (i * bs + j) * depth + c if mode == "DCR" else c * bs * bs + i * bs + j
        out[b, c, y, z] = x[b, source, h, w]
    return out


def space_to_depth_by_loops(x: np.ndarray, *, blocksize: int, mode: str = "DCR") -> np.ndarray:
    """The inverse: y[b, depth index of (c, i, j), h, w] = x[b, c, h*bs + i, w*bs + j]."""
    n, channels, height, width = x.shape
    bs = blocksize
    out = np.empty((n, channels * bs * bs, height // bs, width // bs), dtype=x.dtype)
    for b, c, h, w, i, j in _positions((n, channels, height // bs, width // bs, bs, bs)):
        target = (i * bs + j) * channels + c if mode == "DCR" else c * bs * bs + i * bs + j
        out[b, target, h, w] = x[b, c, h * bs + i, w * bs + j]
    return out


def transpose_by_loops(data: np.ndarray, *, perm=None) -> np.ndarray:
    """Output axis i is input axis perm[i]: y[i_0, ..., i_n] = x[j] with j[perm[k]] = i_k."""
    perm = list(range(data.ndim))[::-1] if perm is None else list(perm)
    out = np.empty([data.shape[p] for p in perm], dtype=data.dtype)
    for index in _positions(out.shape):
        source = [0] * data.ndim
        for k, p in enumerate(perm):
            source[p] = index[k]
        out[index] = data[tuple(source)]
    return out


def tile_by_loops(data: np.ndarray, repeats) -> np.ndarray:
    repeats = _ints(repeats)
    out = np.empty([d * r for d, r in zip(data.shape, repeats)], dtype=data.dtype)
    for index in _positions(out.shape):
        out[index] = data[tuple(i % d for i, d in zip(index, data.shape))]
    return out


def expand_by_loops(data: np.ndarray, shape) -> np.ndarray:
    """Right-aligned dimensions, each equal or 1 on one side; a 1 repeats its single element."""
    target = _ints(shape)
    rank = max(len(target), data.ndim)
    dims = [1] * (rank - data.ndim) + list(data.shape)
    target = [1] * (rank - len(target)) + target
    out = np.empty([max(d, t) for d, t in zip(dims, target)], dtype=data.dtype)
    reshaped = data.reshape(dims)
    for index in _positions(out.shape):
        out[index] = reshaped[tuple(0 if d == 1 else i for i, d in zip(index, dims))]
    return out


def constant_of_shape_by_loops(input: np.ndarray, value=None) -> np.ndarray:
    """Every position of the shape set to the value tensor's single element (float32 0 without one)."""
    if value is None:
        fill = np.zeros(1, np.float32)
    else:
        from onnx import numpy_helper

        fill = numpy_helper.to_array(value)
    out = np.empty(_ints(input), dtype=fill.dtype)
    for index in _positions(out.shape):
        out[index] = fill.reshape(-1)[0]
    return out


def concat_by_loops(*inputs: np.ndarray, axis: int) -> np.ndarray:
    rank = inputs[0].ndim
    axis = axis + rank if axis < 0 else axis
    offsets = np.cumsum([0] + [x.shape[axis] for x in inputs])
    shape = list(inputs[0].shape)
    shape[axis] = int(offsets[-1])
    out = np.empty(shape, dtype=inputs[0].dtype)
    for index in _positions(shape):
        part = int(np.searchsorted(offsets, index[axis], side="right")) - 1
        source = list(index)
        source[axis] -= int(offsets[part])
        out[index] = inputs[part][tuple(source)]
    return out


def split_by_loops(data: np.ndarray, split=None, *, axis: int = 0, num_outputs=None, output_count: int = 1):
    """Outputs of the listed sizes, or ceil(length / count)-sized chunks with a smaller last one."""
    axis = axis + data.ndim if axis < 0 else axis
    length = data.shape[axis]
    sizes = _ints(split)
    if sizes is None:
        count = num_outputs or output_count
        chunk = math.ceil(length / count)
        sizes = [chunk] * (count - 1) + [length - chunk * (count - 1)]
    outputs, begin = [], 0
    for size in sizes:
        shape = list(data.shape)
        shape[axis] = size
        out = np.empty(shape, dtype=data.dtype)
        for index in _positions(shape):
            source = list(index)
            source[axis] += begin
            out[index] = data[tuple(source)]
        outputs.append(out)
        begin += size
    return tuple(outputs)


def row_major(data: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """The elements of ``data`` in row-major order, laid out in ``shape`` one by one."""
    flat = [data[index] for index in _positions(data.shape)]
    out = np.empty(list(shape), dtype=data.dtype)
    for k, index in enumerate(_positions(shape)):
        out[index] = flat[k]
    return out


def reshape_by_loops(data: np.ndarray, shape, *, allowzero: int = 0) -> np.ndarray:
    target = _ints(shape)
    target = [data.shape[i] if d == 0 and not allowzero else d for i, d in enumerate(target)]
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        target[target.index(-1)] = data.size // known
    return row_major(data, target)


def identity_by_loops(data: np.ndarray) -> np.ndarray:
    """Every element copied, one at a time, into a new array of the same shape and dtype."""
    out = np.empty(data.shape, dtype=data.dtype)
    for index in np.ndindex(*data.shape):
        out[index] = data[index]
    return out


def flatten_by_loops(data: np.ndarray, *, axis: int = 1) -> np.ndarray:
    axis = axis + data.ndim if axis < 0 else axis
    return row_major(data, [math.prod(data.shape[:axis]), math.prod(data.shape[axis:])])


def squeeze_by_loops(data: np.ndarray, axes=None) -> np.ndarray:
    axes = _ints(axes)
    axes = [i for i, d in enumerate(data.shape) if d == 1] if axes is None else [a % data.ndim for a in axes]
    return row_major(data, [d for i, d in enumerate(data.shape) if i not in axes])


def unsqueeze_by_loops(data: np.ndarray, axes=None) -> np.ndarray:
    axes = _ints(axes)
    rank = data.ndim + len(axes)
    ones = {a % rank for a in axes}
    dims = iter(data.shape)
    return row_major(data, [1 if i in ones else next(dims) for i in range(rank)])


BY_LOOPS = {
    "Identity": identity_by_loops,
    "Slice": slice_by_loops,
    "Pad": pad_by_loops,
    "DepthToSpace": depth_to_space_by_loops,
    "SpaceToDepth": space_to_depth_by_loops,
    "Transpose": transpose_by_loops,
    "Tile": tile_by_loops,
    "Expand": expand_by_loops,
    "ConstantOfShape": constant_of_shape_by_loops,
    "Concat": concat_by_loops,
    "Split": split_by_loops,
    "Reshape": reshape_by_loops,
    "Flatten": flatten_by_loops,
    "Squeeze": squeeze_by_loops,
    "Unsqueeze": unsqueeze_by_loops,
}
