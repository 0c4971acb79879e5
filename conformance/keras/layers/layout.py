"""Keras's layouts in ONNX: tensors keep the layout Keras gave them (channels last, mostly), and a
layer whose ONNX operator wants channels first is wrapped in two Transposes, named after it."""

from __future__ import annotations

from typing import Sequence

from conformance.errors import ConformanceError
from conformance.keras.builder import GraphBuilder
from conformance.keras.graph import Call


def channels_last(call: Call) -> bool:
    fmt = call.get("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise ConformanceError(f"layer {call.name!r}: data_format {fmt!r} is neither channels_last nor channels_first")
    return fmt == "channels_last"


def to_channels_first(g: GraphBuilder, x: str, name: str) -> str:
    rank = g.rank(x)
    return g.one("Transpose", [x], f"{name}/to_channels_first", perm=[0, rank - 1, *range(1, rank - 1)])


def to_channels_last(g: GraphBuilder, x: str, name: str) -> str:
    rank = g.rank(x)
    return g.one("Transpose", [x], f"{name}/to_channels_last", perm=[0, *range(2, rank), 1])


def spatial_axes(call: Call, rank: int) -> list[int]:
    return list(range(1, rank - 1)) if channels_last(call) else list(range(2, rank))


def tuple_of(call: Call, key: str, count: int, default=None) -> list[int]:
    """A Keras int-or-tuple option as ``count`` ints."""
    value = call.get(key, default)
    if value is None:
        value = default
    values = list(value) if isinstance(value, (list, tuple)) else [value] * count
    if len(values) != count or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ConformanceError(f"layer {call.name!r}: {key} {value!r} is not {count} integers")
    return values


def same_pads(sizes: Sequence[int | None], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int],
              name: str) -> list[int]:
    """ONNX pads (begins, then ends) for Keras's and TensorFlow's SAME: the output has ceil(size /
    stride) positions, and of an odd total padding the extra pixel goes at the end."""
    begins, ends = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations):
        if size is None:
            raise ConformanceError(f"layer {name!r}: padding 'same' on an input of unknown spatial size")
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends
