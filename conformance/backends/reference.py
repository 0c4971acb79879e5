"""The ``reference`` backend: the in-house float64 NumPy reference, run on the graph's nodes.

Outputs are rounded once to the dtype the graph declares for them (LayerNormalization's Mean is
float32 whatever X is; BatchNormalization's running statistics may differ from X), or else to
the dtype of the node's first input, as a conforming backend would return them; certifying this
backend checks the plumbing from model to reference function.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

import reference
from conformance import __version__
from conformance.backends.graph import run_graph
from conformance.errors import Unsupported


def declared_dtypes(model: onnx.ModelProto) -> dict[str, np.dtype]:
    """The element type of every graph output that declares one, by name."""
    return {
        value.name: np.dtype(helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type))
        for value in model.graph.output
        if value.type.HasField("tensor_type") and value.type.tensor_type.elem_type
    }


class ReferenceBackend:
    name = "reference"
    version = __version__

    def supports(self, op_type: str) -> bool:
        return op_type in reference.OPERATORS

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        dtypes = declared_dtypes(model)

        def run_node(node, arguments, attributes, opset):
            return self._run_node(node, arguments, attributes, opset, dtypes)

        return run_graph(model, inputs, run_node)

    def _run_node(self, node, arguments, attributes, opset, dtypes):
        if node.op_type not in reference.OPERATORS or node.domain not in ("", "ai.onnx"):
            raise Unsupported(f"the reference has no operator {node.domain or 'ai.onnx'}.{node.op_type}")
        first = next(a.dtype for a in arguments if a is not None)
        outputs = reference.evaluate(node.op_type, arguments, attributes, opset=opset, outputs=len(node.output))
        return [o.astype(dtypes.get(name, first)) if o.dtype.kind == "f" else o
                for name, o in zip(node.output, outputs)]
