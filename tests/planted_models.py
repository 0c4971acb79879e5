"""Backends that run whole models, for the model check's self-tests: every node computed on the
float64 reference and rounded once to its type, as a careful runtime would, except for one
operator whose call is mangled as a converter's bug would mangle it (not through the reference's
own variants, so that the diagnosis is tested against an independent mistake).

    conformance model check model.onnx --backend tests.planted_models:FlippedConvKernels
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx

import reference
from conformance.backends.graph import run_graph


class Careful:
    """Every node on the reference, rounded once: a correct runtime."""

    name, version = "planted-careful-runtime", "planted"
    evaluates_node_by_node = True
    op_type = ""  # the operator whose call ``rewrite`` mangles

    def rewrite(self, inputs: list, attributes: dict[str, Any]) -> tuple[list, dict[str, Any]]:
        return inputs, attributes

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        return run_graph(model, inputs, self._node)

    def _node(self, node: onnx.NodeProto, arguments, attributes: dict[str, Any], opset: int) -> list[np.ndarray]:
        arguments = list(arguments)
        if node.op_type == self.op_type:
            arguments, attributes = self.rewrite(arguments, dict(attributes))
        dtype = next((np.asarray(a).dtype for a in arguments if a is not None and np.asarray(a).dtype.kind == "f"),
                     np.dtype(np.float32))
        outputs = reference.evaluate(node.op_type, arguments, attributes, opset=opset, output_count=len(node.output))
        return [o.astype(dtype) if o.dtype.kind == "f" else o for o in outputs]


class FlippedConvKernels(Careful):
    """True convolution in every Conv, as Theano and Flux compute it: each kernel flipped."""

    name, op_type = "planted-flipped-conv-kernels", "Conv"

    def rewrite(self, inputs, attributes):
        X, W, *rest = inputs
        return [X, np.ascontiguousarray(np.flip(W, axis=tuple(range(2, W.ndim)))), *rest], attributes


class LrnAlphaNotDivided(Careful):
    """LRN as TensorFlow's ``local_response_normalization`` takes alpha: not divided by size."""

    name, op_type = "planted-lrn-alpha-not-divided", "LRN"

    def rewrite(self, inputs, attributes):
        size = attributes["size"]
        return inputs, {**attributes, "alpha": attributes.get("alpha", 1e-4) * size}
