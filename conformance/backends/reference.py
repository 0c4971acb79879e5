"""The ``reference`` backend: the in-house float64 NumPy reference, run on the graph's nodes.

Outputs are rounded once to the dtype ONNX's type inference gives them (for most operators the
dtype of the first input; bool for Dropout's mask, the type of X for Where), as a conforming
backend would return them; certifying this backend checks the plumbing from model to reference
function.
"""

from __future__ import annotations

import numpy as np
import onnx

import reference
from conformance import __version__
from conformance.backends.graph import run_graph
from conformance.errors import Unsupported


class ReferenceBackend:
    name = "reference"
    evaluates_node_by_node = True  # conformance.backends: one model-check run serves outputs and tensors
    version = __version__

    def supports(self, op_type: str) -> bool:
        return op_type in reference.OPERATORS

    def execution_facts(self) -> dict:
        """The SIMD targets NumPy's loops dispatch to (``conformance.environment.numpy_facts``)."""
        from conformance.environment import numpy_facts

        return numpy_facts()

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        dtypes = _inferred_dtypes(model)

        def run_node(node, arguments, attributes, opset):
            if node.op_type not in reference.OPERATORS or node.domain not in ("", "ai.onnx"):
                raise Unsupported(f"the reference has no operator {node.domain or 'ai.onnx'}.{node.op_type}")
            first = next(a.dtype for a in arguments if a is not None)
            outputs = reference.evaluate(node.op_type, arguments, attributes, opset=opset,
                                         output_count=len(node.output))
            with np.errstate(over="ignore"):  # a float64 result beyond the output dtype's range rounds to inf
                return [o.astype(dtypes.get(name, first)) if o.dtype.kind in "fiu" else o
                        for name, o in zip(node.output, outputs)]

        return run_graph(model, inputs, run_node)


def _inferred_dtypes(model: onnx.ModelProto) -> dict[str, np.dtype]:
    """The element type of every typed value of the graph, from ONNX's own type inference, run
    on the graph without its weights' data (inference serializes the model it is given; a
    ResNet-50 node's weights cost more than the node): types do not depend on the values."""
    try:
        inferred = onnx.shape_inference.infer_shapes(_weightless(model))
    except Exception:  # a model inference rejects still runs; outputs then take their first input's dtype
        inferred = model
    graph = inferred.graph
    dtypes = {}
    for value in [*graph.value_info, *graph.output]:
        elem_type = value.type.tensor_type.elem_type
        if elem_type:
            dtypes[value.name] = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    return dtypes


def _weightless(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with its initializers declared as graph inputs of the same type and shape, no data."""
    graph = model.graph
    if not graph.initializer:
        return model
    named = {value.name for value in graph.input}
    weights = [onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
               for t in graph.initializer if t.name not in named]
    light = onnx.helper.make_graph(graph.node, graph.name, [*graph.input, *weights], graph.output,
                                   value_info=graph.value_info)
    return onnx.helper.make_model(light, opset_imports=model.opset_import, ir_version=model.ir_version)
