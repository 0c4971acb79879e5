"""Dense, the activation layers, the layers that are the identity at inference, and the ones that
only move data (Flatten, Reshape, Permute, RepeatVector, ZeroPadding, Cropping), Rescaling.

- Dense on a rank-2 input is Gemm; on rank 3 or more it acts on the last axis: MatMul, then Add.
- ``LeakyReLU`` without a slope in its config: 0.3, the layer's default in Keras 2 (``alpha``) and
  3 (``negative_slope``); ``keras.activations.leaky_relu``'s is 0.2, ONNX LeakyRelu's 0.01.
- Dropout, SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout and
  ActivityRegularization are the identity at inference: an Identity node keeps the layer's name.
- Flatten flattens in the tensor's own layout; with ``data_format="channels_first"`` Keras
  moves the channels last first, which is kept here.
"""

from __future__ import annotations

import numpy as np
from onnx.helper import tensor_dtype_to_np_dtype as onnx_numpy_type

from conformance.errors import ConformanceError
from conformance.keras.activations import activation
from conformance.keras.builder import GraphBuilder, int64
from conformance.keras.graph import Call
from conformance.keras.layers.layout import (channels_last, spatial_axes, to_channels_first, to_channels_last,
                                             tuple_of)

LEAKY_RELU_LAYER_SLOPE = 0.3


def dense(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    (x,) = inputs
    names = ("kernel", "bias") if call.get("use_bias", True) else ("kernel",)
    weights = call.weights(*names)
    kernel = g.constant(f"{call.name}/kernel", weights["kernel"])
    bias = g.constant(f"{call.name}/bias", weights["bias"]) if "bias" in weights else None
    if g.rank(x) == 2:
        y = g.one("Gemm", [x, kernel] + ([bias] if bias else []), f"{call.name}/gemm")
    else:
        y = g.one("MatMul", [x, kernel], f"{call.name}/matmul")
        y = g.one("Add", [y, bias], f"{call.name}/bias") if bias else y
    return [activation(g, y, call.get("activation"), f"{call.name}/activation", call.keras_major)]


def activation_layer(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    return [activation(g, inputs[0], call.get("activation"), call.name, call.keras_major, fused=False)]


def relu(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    (x,) = inputs
    max_value, slope, threshold = call.get("max_value"), call.get("negative_slope") or 0.0, call.get("threshold") or 0.0
    if threshold:
        raise ConformanceError(f"layer {call.name!r}: ReLU with a threshold is not imported yet")
    if slope:
        if max_value is not None:
            raise ConformanceError(f"layer {call.name!r}: ReLU with both a slope and a maximum is not imported yet")
        return [g.one("LeakyRelu", [x], call.name, alpha=float(slope))]
    if max_value is None:
        return [g.one("Relu", [x], call.name)]
    low = g.constant(f"{call.name}/min", np.asarray(0.0, np.float32))
    high = g.constant(f"{call.name}/max", np.asarray(float(max_value), np.float32))
    return [g.one("Clip", [x, low, high], call.name)]


def leaky_relu(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    slope = call.get("negative_slope", call.get("alpha"))
    return [g.one("LeakyRelu", inputs, call.name, alpha=float(LEAKY_RELU_LAYER_SLOPE if slope is None else slope))]


def elu(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    return [g.one("Elu", inputs, call.name, alpha=float(call.get("alpha", 1.0)))]


def softmax(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    axis = call.get("axis", -1)
    if not isinstance(axis, int):
        raise ConformanceError(f"layer {call.name!r}: Softmax over axes {axis!r} is not imported yet")
    return [g.one("Softmax", inputs, call.name, axis=axis)]


def prelu(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    alpha = call.weights("alpha")["alpha"]  # the input's shape without the batch, 1 on shared axes
    return [g.one("PRelu", [inputs[0], g.constant(f"{call.name}/alpha", alpha)], call.name)]


def identity(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    return [g.one("Identity", inputs, call.name)]


def flatten(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    (x,) = inputs
    rank = g.rank(x)
    if call.get("data_format") == "channels_first" and rank > 2:
        x = g.one("Transpose", [x], f"{call.name}/to_channels_last", perm=[0, *range(2, rank), 1])
    return [g.one("Flatten", [x], call.name, axis=1)]


def reshape(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    target = call.get("target_shape")
    if not isinstance(target, list) or not all(isinstance(d, int) and (d > 0 or d == -1) for d in target):
        raise ConformanceError(f"layer {call.name!r}: target_shape {target!r} is not a list of sizes")
    shape = g.constant(f"{call.name}/shape", int64([0, *target]))  # 0: the batch, copied
    return [g.one("Reshape", [inputs[0], shape], call.name)]


def permute(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    dims = call.get("dims")
    rank = g.rank(inputs[0])
    if not isinstance(dims, list) or sorted(dims) != list(range(1, rank)):
        raise ConformanceError(f"layer {call.name!r}: dims {dims!r} do not permute axes 1 to {rank - 1}")
    return [g.one("Transpose", inputs, call.name, perm=[0, *dims])]


def repeat_vector(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    n = int(call.get("n"))
    axes = g.constant(f"{call.name}/axes", int64([1]))
    y = g.one("Unsqueeze", [inputs[0], axes], f"{call.name}/unsqueeze")
    return [g.one("Tile", [y, g.constant(f"{call.name}/repeats", int64([1, n, 1]))], call.name)]


def _edges(call: Call, key: str, spatial: int, default) -> list[tuple[int, int]]:
    """ZeroPadding's padding and Cropping's cropping: an int, one per axis, or (begin, end) per axis."""
    value = call.get(key, default)
    if isinstance(value, int):
        return [(value, value)] * spatial
    if isinstance(value, list) and len(value) == spatial:
        if all(isinstance(v, int) for v in value):
            return [(v, v) for v in value]
        if all(isinstance(v, list) and len(v) == 2 and all(isinstance(e, int) for e in v) for v in value):
            return [tuple(v) for v in value]
    if isinstance(value, list) and spatial == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        return [tuple(value)]
    raise ConformanceError(f"layer {call.name!r}: {key} {value!r} is not {spatial} (begin, end) pairs")


def zero_padding(spatial: int):
    def pad(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
        (x,) = inputs
        rank = g.rank(x)
        edges = dict(zip(spatial_axes(call, rank), _edges(call, "padding", spatial, 1)))
        begins = [edges.get(a, (0, 0))[0] for a in range(rank)]
        ends = [edges.get(a, (0, 0))[1] for a in range(rank)]
        return [g.one("Pad", [x, g.constant(f"{call.name}/pads", int64(begins + ends))], call.name)]

    return pad


def cropping(spatial: int):
    def crop(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
        (x,) = inputs
        axes = spatial_axes(call, g.rank(x))
        edges = _edges(call, "cropping", spatial, 0)
        sizes = [g.shape(x)[a] for a in axes]
        if any(s is None for s in sizes):
            raise ConformanceError(f"layer {call.name!r}: cropping an input of unknown spatial size")
        starts = int64([b for b, _ in edges])
        ends = int64([s - e for s, (_, e) in zip(sizes, edges)])
        constants = [g.constant(f"{call.name}/{k}", v) for k, v in (("starts", starts), ("ends", ends),
                                                                    ("axes", int64(axes)))]
        return [g.one("Slice", [x, *constants], call.name)]

    return crop


def embedding(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    """Gather of the rows of ``embeddings`` (Keras reads the indices as integers: an integer input
    is gathered from as it is). ``mask_zero`` only masks later layers: no effect on this output."""
    (x,) = inputs
    table = call.weights("embeddings")["embeddings"]
    if np.dtype(onnx_numpy_type(g.types[x])).kind not in "iu":
        raise ConformanceError(f"layer {call.name!r}: Embedding of a {np.dtype(onnx_numpy_type(g.types[x]))} input;"
                               " give the model's input an integer dtype")
    return [g.one("Gather", [g.constant(f"{call.name}/embeddings", table), x], call.name)]


def up_sampling(spatial: int):
    """Nearest (each value repeated) or bilinear (half-pixel centres, as tf.image.resize) upsampling,
    as Resize of the spatial axes in channels first."""
    def up(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
        (x,) = inputs
        size = tuple_of(call, "size", spatial, 2)
        interpolation = call.get("interpolation", "nearest")
        if interpolation == "nearest":
            modes = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
        elif interpolation == "bilinear" and spatial == 2:
            modes = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
        else:
            raise ConformanceError(f"layer {call.name!r}: {interpolation!r} upsampling is not imported yet")
        last = channels_last(call)
        y = to_channels_first(g, x, call.name) if last else x
        scales = g.constant(f"{call.name}/scales", np.asarray([1, 1, *size], np.float32))
        y = g.one("Resize", [y, "", scales], f"{call.name}/resize", **modes)
        return [to_channels_last(g, y, call.name) if last else y]

    return up


def rescaling(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    scale = g.constant(f"{call.name}/scale", np.asarray(call.get("scale", 1.0), np.float32))
    offset = g.constant(f"{call.name}/offset", np.asarray(call.get("offset", 0.0), np.float32))
    return [g.one("Add", [g.one("Mul", [inputs[0], scale], f"{call.name}/scale"), offset], call.name)]


IDENTITY_AT_INFERENCE = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
                         "GaussianDropout", "AlphaDropout", "ActivityRegularization")

LAYERS = {
    "Dense": dense,
    "Activation": activation_layer,
    "ReLU": relu,
    "LeakyReLU": leaky_relu,
    "ELU": elu,
    "Softmax": softmax,
    "PReLU": prelu,
    **{name: identity for name in IDENTITY_AT_INFERENCE},
    "Flatten": flatten,
    "Reshape": reshape,
    "Permute": permute,
    "RepeatVector": repeat_vector,
    **{f"ZeroPadding{n}D": zero_padding(n) for n in (1, 2, 3)},
    **{f"Cropping{n}D": cropping(n) for n in (1, 2, 3)},
    "Rescaling": rescaling,
    "Embedding": embedding,
    **{f"UpSampling{n}D": up_sampling(n) for n in (1, 2, 3)},
}

