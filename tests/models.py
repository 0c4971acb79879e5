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


def strided_stem_model() -> onnx.ModelProto:
    """A small image model whose stem downsamples with a strided 1x1 convolution padded SAME_UPPER
    (an input of 32, a stride of 4: the total SAME padding is -3), then a 3x3 head: onnxruntime
    computes the stem wrongly (``onnxruntime-conv-same-negative-padding-upper``), a real bug that
    the model check localizes. Weights are seeded."""
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.normal(size=(8, 3, 1, 1)).astype(np.float32), "stem_w"),
               numpy_helper.from_array((rng.normal(size=(4, 8, 3, 3)) * 0.2).astype(np.float32), "head_w")]
    nodes = [
        helper.make_node("Conv", ["image", "stem_w"], ["stem"], name="downsample", kernel_shape=[1, 1],
                         strides=[4, 4], auto_pad="SAME_UPPER"),
        helper.make_node("Relu", ["stem"], ["features"], name="relu"),
        helper.make_node("Conv", ["features", "head_w"], ["logits"], name="head", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
    ]
    graph = helper.make_graph(nodes, "strided_stem",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4, 8, 8])],
                              initializer=weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
