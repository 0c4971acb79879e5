"""Walking an ONNX graph node by node, for backends that evaluate one operator at a time."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import onnx
from onnx import numpy_helper

from conformance.case import attribute_value

NodeRunner = Callable[[onnx.NodeProto, Sequence[Any], dict[str, Any], int], Sequence[Any]]


def node_attributes(node: onnx.NodeProto) -> dict[str, Any]:
    """A node's attributes as Python values (strings decoded, lists as lists)."""
    return {a.name: attribute_value(a) for a in node.attribute}


def opset_of(model: onnx.ModelProto, domain: str = "") -> int:
    return next((o.version for o in model.opset_import if o.domain == domain), 0)


def run_graph(model: onnx.ModelProto, inputs: Mapping[str, Any], run_node: NodeRunner) -> list[Any]:
    """Evaluate the graph's nodes in order (ONNX graphs are topologically sorted) and return its outputs.

    ``run_node(node, inputs, attributes, opset)`` receives ``None`` for an omitted optional input.
    """
    graph = model.graph
    values: dict[str, Any] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    missing = [i.name for i in graph.input if i.name not in inputs and i.name not in values]
    if missing:
        raise ValueError(f"no value given for graph input(s) {', '.join(missing)}")
    values.update(inputs)
    for node in graph.node:
        arguments = [values[name] if name else None for name in node.input]
        results = run_node(node, arguments, node_attributes(node), opset_of(model, node.domain))
        for name, value in zip(node.output, results):
            if name:
                values[name] = value
    return [values[o.name] for o in graph.output]

