"""The normalization layers, with Keras's defaults (epsilon 1e-3), as ONNX's operators:

- BatchNormalization, over any ``axis``, as ONNX BatchNormalization, whose channel axis is 1:
  another axis is moved there and back by Transposes named after the layer;
- LayerNormalization over the trailing axes (ONNX's ``axis`` to the end), scale and center
  optional (Keras 3's ``rms_scaling`` is refused);
- GroupNormalization (Keras 3; channels last by default) as GroupNormalization-21, one scale and
  bias per channel, channels moved to axis 1;
- UnitNormalization as LpNormalization (p = 2): Keras floors the squared norm at 1e-12, which only
  changes vectors of norm below 1e-6;
- Normalization (preprocessing) as ``(x - mean) / max(sqrt(variance), 1e-7)``, Keras 3's formula,
  its mean and variance from the file's weights.
"""

from __future__ import annotations

import numpy as np

from conformance.errors import ConformanceError
from conformance.keras.builder import GraphBuilder
from conformance.keras.graph import Call

KERAS_EPSILON = 1e-3  # BatchNormalization's default in Keras 1, 2 and 3 (ONNX's is 1e-5)


def batch_normalization(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    (x,) = inputs
    rank = g.rank(x)
    axis = call.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    if not isinstance(axis, int) or not -rank <= axis < rank or axis % rank == 0:
        raise ConformanceError(f"layer {call.name!r}: BatchNormalization over axis {axis!r} of a rank-{rank} input")
    axis %= rank
    names = (("gamma",) if call.get("scale", True) else ()) + (("beta",) if call.get("center", True) else ())
    weights = call.weights(*names, "moving_mean", "moving_variance")
    channels = weights["moving_mean"].shape[0]
    gamma = weights.get("gamma", np.ones(channels, np.float32))
    beta = weights.get("beta", np.zeros(channels, np.float32))
    constants = [g.constant(f"{call.name}/{k}", v) for k, v in
                 (("gamma", gamma), ("beta", beta), ("moving_mean", weights["moving_mean"]),
                  ("moving_variance", weights["moving_variance"]))]
    return [_at_axis_one(g, x, axis, call.name, lambda y: g.one(
        "BatchNormalization", [y, *constants], f"{call.name}/batch_normalization",
        epsilon=float(call.get("epsilon", KERAS_EPSILON))))]


def _at_axis_one(g: GraphBuilder, x: str, axis: int, name: str, body) -> str:
    """``body`` applied to ``x`` with ``axis`` moved to 1 (ONNX's channel axis), and moved back."""
    if axis == 1:
        return body(x)
    perm = [0, axis, *[i for i in range(1, g.rank(x)) if i != axis]]
    y = body(g.one("Transpose", [x], f"{name}/to_channels_first", perm=perm))
    return g.one("Transpose", [y], f"{name}/to_channels_last", perm=[int(i) for i in np.argsort(perm)])


def _trailing_axes(call: Call, rank: int) -> int:
    """The first of the trailing axes a layer normalizes over (``axis`` an int or a list of them)."""
    axis = call.get("axis", -1)
    axes = sorted(a % rank for a in (axis if isinstance(axis, list) else [axis]) if isinstance(a, int))
    if not axes or axes != list(range(axes[0], rank)) or axes[0] == 0:
        raise ConformanceError(f"layer {call.name!r}: normalizing over axes {axis!r} of a rank-{rank} input, not"
                               " a run of trailing axes")
    return axes[0]


def layer_normalization(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    (x,) = inputs
    if call.get("rms_scaling"):
        raise ConformanceError(f"layer {call.name!r}: LayerNormalization with rms_scaling is not imported yet")
    first = _trailing_axes(call, g.rank(x))
    names = (("gamma",) if call.get("scale", True) else ()) + (("beta",) if call.get("center", True) else ())
    weights = call.weights(*names)
    shape = tuple(g.shape(x)[first:])
    gamma = weights.get("gamma", np.ones(shape, np.float32)).reshape(shape)
    operands = [x, g.constant(f"{call.name}/gamma", gamma)]
    if "beta" in weights:
        operands.append(g.constant(f"{call.name}/beta", weights["beta"].reshape(shape)))
    return [g.one("LayerNormalization", operands, f"{call.name}/layer_normalization", axis=first,
                  epsilon=float(call.get("epsilon", KERAS_EPSILON)))]


def group_normalization(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    (x,) = inputs
    rank = g.rank(x)
    axis = call.get("axis", -1) % rank
    if axis == 0:
        raise ConformanceError(f"layer {call.name!r}: GroupNormalization over the batch axis")
    channels = g.shape(x)[axis]
    names = (("gamma",) if call.get("scale", True) else ()) + (("beta",) if call.get("center", True) else ())
    weights = call.weights(*names)
    gamma = weights.get("gamma", np.ones(channels, np.float32))
    beta = weights.get("beta", np.zeros(channels, np.float32))
    operands = [g.constant(f"{call.name}/gamma", gamma), g.constant(f"{call.name}/beta", beta)]
    return [_at_axis_one(g, x, axis, call.name, lambda y: g.one(
        "GroupNormalization", [y, *operands], f"{call.name}/group_normalization",
        num_groups=int(call.get("groups", 32)), epsilon=float(call.get("epsilon", KERAS_EPSILON))))]


def unit_normalization(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    (x,) = inputs
    axis = call.get("axis", -1)
    if not isinstance(axis, int):
        raise ConformanceError(f"layer {call.name!r}: UnitNormalization over axes {axis!r} is not imported yet")
    return [g.one("LpNormalization", [x], call.name, p=2, axis=axis)]


NORMALIZATION_EPSILON = 1e-7  # keras.backend.epsilon(): the floor of the standard deviation


def normalization(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    (x,) = inputs
    if call.get("invert"):
        raise ConformanceError(f"layer {call.name!r}: an inverted Normalization is not imported yet")
    if call.get("mean") is not None:
        mean, variance = (np.asarray(call.get(k), np.float32) for k in ("mean", "variance"))
    else:
        weights = call.weights("mean", "variance", "count")
        mean, variance = weights["mean"], weights["variance"]
    rank = g.rank(x)
    axis = call.get("axis", -1)
    axes = [a % rank for a in (axis if isinstance(axis, list) else [axis])]
    shape = [g.shape(x)[a] if a in axes else 1 for a in range(1, rank)]  # broadcast against x without its batch
    if mean.size > 1:  # one per feature; a single value (Keras broadcasts a scalar) stays 0-d
        mean, variance = mean.reshape(shape), variance.reshape(shape)
    centred = g.one("Sub", [x, g.constant(f"{call.name}/mean", mean)], f"{call.name}/centre")
    std = g.one("Sqrt", [g.constant(f"{call.name}/variance", variance)], f"{call.name}/std")
    floor = g.constant(f"{call.name}/epsilon", np.asarray(NORMALIZATION_EPSILON, np.float32))
    std = g.one("Max", [std, floor], f"{call.name}/floored_std")
    return [g.one("Div", [centred, std], call.name)]


LAYERS = {
    "BatchNormalization": batch_normalization,
    "LayerNormalization": layer_normalization,
    "GroupNormalization": group_normalization,
    "UnitNormalization": unit_normalization,
    "Normalization": normalization,
}
