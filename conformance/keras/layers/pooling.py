"""Pooling: Max/AveragePooling1D/2D/3D as ONNX MaxPool/AveragePool in channels first, and the
global poolings as reductions over the spatial axes. Keras's (TensorFlow's) average pooling with
SAME padding divides by the number of input elements in the window, not counting the padding:
``count_include_pad=0``."""

from __future__ import annotations

from conformance.errors import ConformanceError
from conformance.keras.builder import GraphBuilder, int64
from conformance.keras.graph import Call
from conformance.keras.layers.layout import (channels_last, same_pads, spatial_axes, to_channels_first,
                                             to_channels_last, tuple_of)


def _pool(op_type: str, spatial: int):
    def pool(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
        (x,) = inputs
        kernel = tuple_of(call, "pool_size", spatial, 2)
        strides = tuple_of(call, "strides", spatial, None) if call.get("strides") is not None else kernel
        last = channels_last(call)
        padding = call.get("padding", "valid")
        if padding == "valid":
            pads = [0] * (2 * spatial)
        elif padding == "same":
            sizes = g.shape(x)[1:-1] if last else g.shape(x)[2:]
            pads = same_pads(sizes, kernel, strides, [1] * spatial, call.name)
        else:
            raise ConformanceError(f"layer {call.name!r}: padding {padding!r} is neither valid nor same")
        y = to_channels_first(g, x, call.name) if last else x
        y = g.one(op_type, [y], f"{call.name}/pool", kernel_shape=kernel, strides=strides, pads=pads)
        return [to_channels_last(g, y, call.name) if last else y]

    return pool


def _global(op_type: str):
    def pool(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
        (x,) = inputs
        axes = g.constant(f"{call.name}/axes", int64(spatial_axes(call, g.rank(x))))
        return [g.one(op_type, [x, axes], f"{call.name}/reduce", keepdims=int(bool(call.get("keepdims", False))))]

    return pool


LAYERS = {
    **{f"MaxPooling{n}D": _pool("MaxPool", n) for n in (1, 2, 3)},
    **{f"MaxPool{n}D": _pool("MaxPool", n) for n in (1, 2, 3)},
    **{f"AveragePooling{n}D": _pool("AveragePool", n) for n in (1, 2, 3)},
    **{f"AvgPool{n}D": _pool("AveragePool", n) for n in (1, 2, 3)},
    **{f"GlobalMaxPooling{n}D": _global("ReduceMax") for n in (1, 2, 3)},
    **{f"GlobalMaxPool{n}D": _global("ReduceMax") for n in (1, 2, 3)},
    **{f"GlobalAveragePooling{n}D": _global("ReduceMean") for n in (1, 2, 3)},
    **{f"GlobalAvgPool{n}D": _global("ReduceMean") for n in (1, 2, 3)},
}
