"""Small ONNX models for the model check's self-tests, built here (nothing downloaded)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def chain_model(ops: list[tuple[str, dict]], channels: int = 3, size: int = 6, batch: int | str = 1,
                dtype: int = TensorProto.FLOAT, opset: int = 13) -> onnx.ModelProto:
    """X[batch, 2, size, size] -> Conv(W[channels, 2, 3, 3], B, pads 1) -> each of ``ops`` in turn -> Y.

    An op is ("BatchNormalization", {}) (its statistics added as initializers), or any
    single-input operator with its attributes ("Relu", {}), ("LRN", {"size": 3}), ("Sin", {})...
    """
    rng = np.random.default_rng(0)
    numpy_type = helper.tensor_dtype_to_np_dtype(dtype)
    initializers = [numpy_helper.from_array(rng.standard_normal((channels, 2, 3, 3)).astype(numpy_type), "W"),
                    numpy_helper.from_array(rng.standard_normal(channels).astype(numpy_type), "B")]
    nodes = [helper.make_node("Conv", ["X", "W", "B"], ["t0"], pads=[1, 1, 1, 1], name="conv")]
    for position, (op_type, attributes) in enumerate(ops, start=1):
        inputs = [f"t{position - 1}"]
        if op_type == "BatchNormalization":
            for role, values in (("scale", np.ones(channels)), ("offset", np.zeros(channels)),
                                 ("mean", np.zeros(channels)), ("var", np.ones(channels))):
                initializers.append(numpy_helper.from_array(values.astype(numpy_type), f"{role}{position}"))
                inputs.append(f"{role}{position}")
        nodes.append(helper.make_node(op_type, inputs, [f"t{position}"], name=f"{op_type.lower()}{position}", **attributes))
    nodes[-1].output[0] = "Y"
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("X", dtype, [batch, 2, size, size])],
                              [helper.make_tensor_value_info("Y", dtype, [batch, channels, size, size])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
