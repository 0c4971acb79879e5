"""BatchNormalization (epsilon 1e-3 by default, any ``axis``) as ONNX BatchNormalization, whose
channel axis is 1: another axis is moved there and back by Transposes named after the layer."""

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
    perm = [0, axis, *[i for i in range(1, rank) if i != axis]]
    moved = axis != 1
    y = g.one("Transpose", [x], f"{call.name}/to_channels_first", perm=perm) if moved else x
    y = g.one("BatchNormalization", [y, *constants], f"{call.name}/batch_normalization",
              epsilon=float(call.get("epsilon", KERAS_EPSILON)))
    if moved:
        y = g.one("Transpose", [y], f"{call.name}/to_channels_last", perm=[int(i) for i in np.argsort(perm)])
    return [y]


LAYERS = {"BatchNormalization": batch_normalization}
