"""A model's weights: constants folded into initializers, and redrawn at random (``--random-weights``).

**Folding.** Some models compute weights with constant subgraphs: the light models in the
``onnx`` wheel hold every weight as ``ConstantOfShape(shape) = 0.02``. Such nodes (``Constant``
and ``ConstantOfShape`` on constant inputs) are evaluated here, from the spec's text, and replaced
by initializers, so that random weights reach them and the check judges the computation, not the
construction of its constants.

**Random weights.** A model with all weights 0.02, or with trained weights a user cannot share, is
checked with weights drawn from a seeded normal scaled by fan-in (He's 2/fan_in for the weights of
Conv, ConvTranspose, Gemm and MatMul), each valid for its role, read off the node that consumes it
(through shape-only nodes such as Unsqueeze):

- a BatchNormalization's variance is uniform in [0.5, 1.5] (positive), its scale 1 ± 0.1;
- a Mul's constant operand is 1 ± 0.1 (a scale), other constants (biases, means) 0 ± 0.1.

Only floating-point initializers are redrawn; integer ones (shapes, axes, indices) are kept.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import onnx
from onnx import helper, numpy_helper

from conformance.backends.graph import node_attributes
from conformance.errors import ConformanceError

FOLDED = ("Constant", "ConstantOfShape")
# Nodes that only move or reshape a constant: its role is that of whatever consumes their output.
SHAPE_ONLY = ("Unsqueeze", "Squeeze", "Reshape", "Flatten", "Identity", "Transpose", "Cast", "Expand")
# Inputs that are a layer's weights, by operator: (input index, fan-in from the weight's shape).
WEIGHTS = {
    "Conv": (1, lambda shape, node: math.prod(shape[1:])),
    "ConvTranspose": (1, lambda shape, node: shape[0] * math.prod(shape[2:]) // node_attributes(node).get("group", 1)),
    "Gemm": (1, lambda shape, node: shape[1] if node_attributes(node).get("transB", 0) else shape[0]),
    "MatMul": (1, lambda shape, node: shape[-2] if len(shape) > 1 else shape[0]),
}
# BatchNormalization's inputs 1 to 4: scale, bias, mean, variance.
BATCH_NORM_ROLES = {1: "scale", 2: "offset", 3: "offset", 4: "variance"}


def fold_constants(model: onnx.ModelProto) -> int:
    """Replace ``Constant`` and ``ConstantOfShape`` nodes whose inputs are constant by initializers,
    in place; the number of nodes folded."""
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    kept, folded = [], 0
    for node in graph.node:
        if node.op_type in FOLDED and node.domain in ("", "ai.onnx") and all(i in constants for i in node.input if i):
            value = _constant(node, [constants[i] for i in node.input if i])
            constants[node.output[0]] = value
            graph.initializer.append(numpy_helper.from_array(value, node.output[0]))
            folded += 1
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    return folded


def _constant(node: onnx.NodeProto, inputs: list[np.ndarray]) -> np.ndarray:
    """A Constant's or ConstantOfShape's output, as its spec defines it."""
    attributes = {a.name: a for a in node.attribute}
    if node.op_type == "ConstantOfShape":
        # "value: (Optional) The value of the output elements. Should be a one-element tensor. If not
        # specified, it defaults to a tensor of value 0 and datatype float32".
        fill = numpy_helper.to_array(attributes["value"].t) if "value" in attributes else np.zeros(1, np.float32)
        if fill.size != 1:
            raise ConformanceError(f"node {node.name or node.output[0]}: ConstantOfShape's value has {fill.size} elements")
        return np.full(tuple(int(d) for d in inputs[0]), fill.reshape(()), dtype=fill.dtype)
    (name, attribute), = attributes.items()  # a Constant has exactly one of its value attributes
    if name == "value":
        return numpy_helper.to_array(attribute.t)
    if name in ("value_float", "value_floats"):
        return np.array(helper.get_attribute_value(attribute), dtype=np.float32)
    if name in ("value_int", "value_ints"):
        return np.array(helper.get_attribute_value(attribute), dtype=np.int64)
    raise ConformanceError(f"node {node.name or node.output[0]}: a Constant with {name} is not folded")


def randomize_weights(model: onnx.ModelProto, seed: int) -> int:
    """Redraw every floating-point initializer for its role (see the module docstring), in place,
    from ``seed``; the number redrawn. The same seed gives the same weights."""
    graph = model.graph
    consumers: dict[str, list[tuple[onnx.NodeProto, int]]] = defaultdict(list)
    for node in graph.node:
        for index, name in enumerate(node.input):
            consumers[name].append((node, index))
    rng = np.random.default_rng(seed)
    redrawn = 0
    for position, tensor in enumerate(graph.initializer):
        value = numpy_helper.to_array(tensor)
        if value.dtype.kind != "f":
            continue
        drawn = _drawn(value.shape, _role(tensor.name, consumers), rng)
        graph.initializer[position].CopyFrom(numpy_helper.from_array(drawn.astype(value.dtype), tensor.name))
        redrawn += 1
    return redrawn


def _role(name: str, consumers: dict[str, list[tuple[onnx.NodeProto, int]]], depth: int = 0):
    """What a constant is to the node that uses it: ("weight", fan-in function, node), ("variance",),
    ("scale",) or ("offset",)."""
    for node, index in consumers.get(name, ()):
        if node.op_type in SHAPE_ONLY and index == 0 and depth < 8:
            return _role(node.output[0], consumers, depth + 1)
        if node.op_type in WEIGHTS and WEIGHTS[node.op_type][0] == index:
            return ("weight", WEIGHTS[node.op_type][1], node)
        if node.op_type == "BatchNormalization" and index in BATCH_NORM_ROLES:
            return (BATCH_NORM_ROLES[index],)
        if node.op_type == "Mul":
            return ("scale",)
    return ("offset",)


def _drawn(shape: tuple[int, ...], role: tuple, rng: np.random.Generator) -> np.ndarray:
    kind = role[0]
    if kind == "weight":
        fan_in = max(1, int(role[1](shape, role[2]))) if len(shape) else 1
        return rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
    if kind == "variance":
        return rng.uniform(0.5, 1.5, shape)
    if kind == "scale":
        return 1.0 + 0.1 * rng.standard_normal(shape)
    return 0.1 * rng.standard_normal(shape)
