"""The ONNX graph an import builds: nodes named after their Keras layer, weights as initializers,
and every tensor's shape known as it is made (ONNX's inference, node by node), since a layer's
conversion may depend on its input's shape (Dense on rank 3 or more, SAME padding's split)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from conformance.errors import ConformanceError

# Operators whose output has their first input's type and shape, for where ONNX's node-alone
# inference leaves them out.
SHAPE_PRESERVING = ("GroupNormalization",)
OPSET = 21  # the opset of imported models: Gelu (20) and GroupNormalization's per-channel scale (21)


class GraphBuilder:
    """Nodes, initializers and the shape of every tensor made so far (None for an unknown dim)."""

    def __init__(self, where: str):
        self.where = where
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self.inputs: list[onnx.ValueInfoProto] = []
        self.shapes: dict[str, tuple[int | None, ...]] = {}
        self.types: dict[str, int] = {}
        self._names: set[str] = set()
        self._declared: list[str] = []  # tensors whose type the graph states (value_info)

    def input(self, name: str, shape: Sequence[int | None], elem_type: int = TensorProto.FLOAT) -> str:
        dims = ["batch" if i == 0 and d is None else (f"{name}_{i}" if d is None else d) for i, d in enumerate(shape)]
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, dims))
        self._names.add(name)
        self.shapes[name], self.types[name] = tuple(shape), elem_type
        return name

    def constant(self, name: str, array: np.ndarray) -> str:
        """An initializer (a layer's weight, or a constant its conversion needs), named once."""
        if name in self.initializers:
            return name
        array = np.asarray(array)
        self.initializers[name] = numpy_helper.from_array(array, name)
        self._names.add(name)
        self.shapes[name] = tuple(array.shape)
        self.types[name] = helper.np_dtype_to_tensor_dtype(array.dtype)
        return name

    def node(self, op_type: str, inputs: Sequence[str], name: str, outputs: int = 1, **attributes: Any) -> list[str]:
        """Add a node called ``name`` (unique: a suffix is added if taken); its outputs are named after it."""
        name = self._unique(name)
        names = [name if i == 0 else f"{name}:{i}" for i in range(outputs)]
        self._names.update(names)
        node = helper.make_node(op_type, list(inputs), names, name=name,
                                **{k: v for k, v in attributes.items() if v is not None})
        self.nodes.append(node)
        self._infer(node)
        return names

    def one(self, op_type: str, inputs: Sequence[str], name: str, **attributes: Any) -> str:
        return self.node(op_type, inputs, name, **attributes)[0]

    def shape(self, tensor: str) -> tuple[int | None, ...]:
        return self.shapes[tensor]

    def rank(self, tensor: str) -> int:
        return len(self.shapes[tensor])

    def model(self, outputs: Sequence[str], name: str, producer: str) -> onnx.ModelProto:
        values = [self._value_info(o) for o in outputs]
        graph = helper.make_graph(self.nodes, name, self.inputs, values, list(self.initializers.values()),
                                  value_info=[self._value_info(t) for t in self._declared if t not in outputs])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=producer)
        model.ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", OPSET)])
        return model

    def _value_info(self, tensor: str) -> onnx.ValueInfoProto:
        dims = ["batch" if i == 0 and d is None else d for i, d in enumerate(self.shapes[tensor])]
        return helper.make_tensor_value_info(tensor, self.types.get(tensor, TensorProto.FLOAT), dims)

    def _unique(self, name: str) -> str:
        if name not in self._names:
            return name
        index = 1
        while f"{name}_{index}" in self._names:
            index += 1
        return f"{name}_{index}"

    def _infer(self, node: onnx.NodeProto) -> None:
        """The shapes and types of ``node``'s outputs, by ONNX's inference on the node alone."""
        inputs = [helper.make_tensor_value_info(n, self.types[n], [d if d is not None else f"d{i}_{j}"
                                                                   for j, d in enumerate(self.shapes[n])])
                  for i, n in enumerate(dict.fromkeys(node.input)) if n]
        graph = helper.make_graph([node], "node", inputs, [helper.make_empty_tensor_value_info(o) for o in node.output])
        constants = [i for i in node.input if i in self.initializers and np.prod(self.shapes[i]) <= 64]
        graph.initializer.extend(self.initializers[c] for c in constants)  # shapes, axes: inference reads them
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        try:
            inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
        except (onnx.shape_inference.InferenceError, ValueError, RuntimeError) as error:
            raise ConformanceError(f"{self.where}: node {node.name} ({node.op_type}) is invalid:"
                                   f" {str(error).strip().splitlines()[0][:300]}") from None
        for value in inferred.graph.output:
            tensor = value.type.tensor_type
            if not tensor.elem_type and node.op_type in SHAPE_PRESERVING:
                # ONNX infers some function operators' outputs only with their body expanded.
                self.types[value.name], self.shapes[value.name] = self.types[node.input[0]], self.shapes[node.input[0]]
                self._declared.append(value.name)  # stated in the graph, for the whole model's inference too
                continue
            self.types[value.name] = tensor.elem_type
            self.shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)


def int64(values: Sequence[int]) -> np.ndarray:
    return np.asarray(list(values), dtype=np.int64)


def config_of(layer: Mapping[str, Any]) -> Mapping[str, Any]:
    return layer.get("config") or {}
