"""The ``reference`` backend: the in-house float64 NumPy reference, run on the graph's nodes.

Outputs are rounded once to the dtype of the node's first input, as a conforming backend would
return them; certifying this backend checks the plumbing from model to reference function.
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
    version = __version__

    def supports(self, op_type: str) -> bool:
        return op_type in reference.OPERATORS

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        return run_graph(model, inputs, self._run_node)

    def _run_node(self, node, arguments, attributes, opset):
        if node.op_type not in reference.OPERATORS or node.domain not in ("", "ai.onnx"):
            raise Unsupported(f"the reference has no operator {node.domain or 'ai.onnx'}.{node.op_type}")
        dtype = next(a.dtype for a in arguments if a is not None)
        outputs = reference.evaluate(node.op_type, arguments, attributes, opset=opset,
                                     output_count=len(node.output))
        return [o.astype(dtype) if o.dtype.kind == "f" else o for o in outputs]
