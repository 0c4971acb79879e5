"""Shape and data-movement operators lowered to TensorFlow.

- Reshape, Flatten, Squeeze and Unsqueeze become ``tf.reshape``, ``tf.squeeze`` and
  ``tf.expand_dims``; ONNX's 0 in Reshape's shape (copy the input's dimension, unless allowzero)
  is resolved here, since TensorFlow reads 0 literally.
- Concat, Split, Transpose, Tile and Expand become ``tf.concat``, ``tf.split``, ``tf.transpose``,
  ``tf.tile`` and ``tf.broadcast_to`` (to the broadcast of the input's shape with the requested
  one, as Expand broadcasts both ways).
- Slice becomes one ``tf.strided_slice`` over every axis, the axes not sliced masked whole.
- Pad becomes ``tf.pad`` in CONSTANT or REFLECT mode, after a ``tf.slice`` for negative pads.
  ``tf.pad`` has no edge or wrap mode: each padded axis becomes one ``tf.gather`` of its own
  indices, extended past both ends and clamped into the axis (edge) or taken modulo its size (wrap).
- ConstantOfShape becomes ``tf.fill`` with the value attribute's one element (float32 0 when absent).
- DepthToSpace and SpaceToDepth become ``tf.nn.depth_to_space`` / ``space_to_depth`` on NHWC
  data. TensorFlow orders a block's depth as (row, column, channel), ONNX's DCR order; CRD
  (channel, row, column) is one ``tf.gather`` of the channels away, before DepthToSpace and after
  SpaceToDepth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import numpy_helper

from conformance.backends.tensorflow.layout import channels_first, channels_last
from conformance.errors import Unsupported


def _values(tensor: Any) -> list[int] | None:
    """An integer input (a tensor) or an older opset's attribute (a list) as a list of ints."""
    return None if tensor is None else [int(v) for v in np.asarray(tensor).reshape(-1)]


def _positive(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def reshape(tf, data, shape=None, *, allowzero=0):
    dims = [data.shape[i] if v == 0 and not allowzero else v for i, v in enumerate(_values(shape))]
    return tf.reshape(data, dims)


def flatten(tf, input, *, axis=1):
    shape = list(input.shape)
    axis = _positive(axis, len(shape))
    return tf.reshape(input, [int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64))])


def squeeze(tf, data, axes=None):
    listed = _values(axes)
    return tf.squeeze(data, axis=listed if listed else None)


def unsqueeze(tf, data, axes=None):
    listed = _values(axes)
    output_rank = len(data.shape) + len(listed)
    for axis in sorted(_positive(a, output_rank) for a in listed):  # ascending: positions of the output
        data = tf.expand_dims(data, axis)
    return data


def concat(tf, *inputs, axis):
    return tf.concat(list(inputs), axis=axis)


def split(tf, input, split=None, *, axis=0, num_outputs=None, output_count=1):
    sizes = _values(split)
    if sizes is None:
        length, count = input.shape[axis], num_outputs or output_count
        chunk = -(-length // count)  # ceil: the last chunk is the smaller one
        sizes = [min(chunk, length - i * chunk) for i in range(count)]
    return tf.split(input, sizes, axis=axis)


def transpose(tf, data, *, perm=None):
    return tf.transpose(data, perm=perm)


def slice_(tf, data, starts, ends, axes=None, steps=None):
    rank = len(data.shape)
    starts, ends = _values(starts), _values(ends)
    listed = _values(axes) or list(range(len(starts)))
    steps = _values(steps) or [1] * len(starts)
    begin, end, strides = [0] * rank, [0] * rank, [1] * rank
    whole = (1 << rank) - 1  # begin_mask and end_mask: every axis whole unless sliced below
    for axis, start, stop, step in zip(listed, starts, ends, steps):
        axis = _positive(axis, rank)
        if step < 0 and start < -data.shape[axis]:
            # ONNX clamps a backward start to [0, dim-1] (onnx/onnx#4115): below -dim it starts at
            # element 0, where Python's slices (and tf.strided_slice) select nothing.
            start = -data.shape[axis]
        begin[axis], end[axis], strides[axis] = start, stop, step
        whole &= ~(1 << axis)
    # int64 tensors: from Python lists TensorFlow would take int32 and wrap indices beyond 2**31.
    begin, end, strides = (tf.constant(v, dtype=tf.int64) for v in (begin, end, strides))
    return tf.strided_slice(data, begin, end, strides, begin_mask=whole, end_mask=whole)


def pad(tf, data, pads=None, constant_value=None, axes=None, *, mode="constant", value=None):
    rank = len(data.shape)
    listed = _values(pads)
    chosen = [_positive(a, rank) for a in (_values(axes) or range(rank))]
    widths = [[0, 0] for _ in range(rank)]
    for i, axis in enumerate(chosen):
        widths[axis] = [listed[i], listed[len(chosen) + i]]
    if any(b < 0 or e < 0 for b, e in widths):  # tf.pad only adds: remove first
        begin = [max(0, -b) for b, _ in widths]
        size = [d - max(0, -b) - max(0, -e) for (b, e), d in zip(widths, data.shape)]
        data = tf.slice(data, begin, size)
        widths = [[max(0, b), max(0, e)] for b, e in widths]
    if mode in ("edge", "wrap"):
        return _pad_by_gathering(tf, data, widths, mode)
    if mode == "reflect":
        return tf.pad(data, widths, mode="REFLECT")
    if mode != "constant":
        raise Unsupported(f"Pad has no {mode} mode")
    fill = constant_value if constant_value is not None else value
    fill = tf.zeros([], dtype=data.dtype) if fill is None else tf.cast(tf.reshape(fill, []), data.dtype)
    return tf.pad(data, widths, mode="CONSTANT", constant_values=fill)


def _pad_by_gathering(tf, data, widths, mode: str):
    """Edge and wrap padding: on each padded axis, the element each output position reads, by its
    position relative to the axis's first element, clamped (edge) or periodic (wrap)."""
    for axis, (begin, end) in enumerate(widths):
        if begin or end:
            size = data.shape[axis]
            positions = np.arange(-begin, size + end)
            read = np.clip(positions, 0, size - 1) if mode == "edge" else positions % size
            data = tf.gather(data, read, axis=axis)
    return data


def tile(tf, input, repeats):
    return tf.tile(input, _values(repeats))


def expand(tf, input, shape):
    target = np.broadcast_shapes(tuple(input.shape), tuple(_values(shape)))
    return tf.broadcast_to(input, target)


def constant_of_shape(tf, input, *, value=None):
    # "If not specified, it defaults to a tensor of value 0 and datatype float32."
    fill = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
    return tf.fill(_values(input), tf.constant(fill.reshape(())))


def _crd_to_dcr(depth: int, blocksize: int) -> list[int]:
    """For each channel of TensorFlow's (row, column, channel) order, the CRD channel it reads."""
    blocks = blocksize * blocksize
    return [(j % depth) * blocks + j // depth for j in range(depth * blocks)]


def _dcr_to_crd(depth: int, blocksize: int) -> list[int]:
    """For each CRD channel (channel, row, column), the channel of TensorFlow's order it reads."""
    blocks = blocksize * blocksize
    return [(k % blocks) * depth + k // blocks for k in range(depth * blocks)]


def depth_to_space(tf, input, *, blocksize, mode="DCR"):
    if blocksize == 1:  # TensorFlow's kernel wants blocks of 2 or more; a block of 1 moves nothing
        return tf.identity(input)
    x = channels_last(tf, input)
    if mode == "CRD":
        x = tf.gather(x, _crd_to_dcr(input.shape[1] // blocksize**2, blocksize), axis=3)
    return channels_first(tf, tf.nn.depth_to_space(x, blocksize))


def space_to_depth(tf, input, *, blocksize, mode="DCR"):
    if blocksize == 1:  # as in depth_to_space
        return tf.identity(input)
    y = tf.nn.space_to_depth(channels_last(tf, input), blocksize)
    if mode == "CRD":
        y = tf.gather(y, _dcr_to_crd(input.shape[1], blocksize), axis=3)
    return channels_first(tf, y)


def identity(tf, input):
    return tf.identity(input)


LOWERINGS = {
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
