"""The ``tensorflow`` backend: ONNX nodes lowered to ``tf.nn`` / ``tf.raw_ops``, run eagerly.

Tensors are channels-first (NCHW) at the backend's border, as in ONNX, and channels-last (NHWC)
inside, as TensorFlow's CPU kernels expect. Each lowering maps ONNX attributes to TensorFlow's
own conventions and raises Unsupported where TensorFlow has no equivalent (SAME_LOWER, say).
TensorFlow is imported once, on the first run, so that merely loading the backend stays cheap.
"""

from __future__ import annotations

import inspect
import os
from functools import cache
from typing import Any, Callable, Mapping

import numpy as np
import onnx

from conformance.backends import distribution_version
from conformance.backends.graph import run_graph
from conformance.errors import Unsupported
from reference.registry import FamilyRegistry

Lowering = Callable[..., Any]

# Each module of this package lowers one family and lists its lowerings in ``LOWERINGS``; a
# lowering takes (tf, *inputs, **attributes) and, if it declares them, ``opset=`` and
# ``output_count=`` (how many outputs the node declares: Split without split sizes, MaxPool with
# or without its optional Indices).
LOWERINGS: Mapping[str, Lowering] = FamilyRegistry("conformance.backends.tensorflow", "LOWERINGS")


@cache
def _takes(lowering: Lowering, parameter: str) -> bool:
    return parameter in inspect.signature(lowering).parameters


def import_tensorflow():
    """Import TensorFlow quietly (its C++ start-up logging is not ours to show)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


class TensorFlowBackend:
    name = "tensorflow"

    def __init__(self):
        self.version = distribution_version("tensorflow-cpu", "tensorflow", "tensorflow-intel")

    def supports(self, op_type: str) -> bool:
        return op_type in LOWERINGS

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        tf = import_tensorflow()
        tensors = {name: tf.constant(array) for name, array in inputs.items()}
        return [np.asarray(t) for t in run_graph(model, tensors, self._run_node)]

    @staticmethod
    def _run_node(node, arguments, attributes, opset):
        lowering = LOWERINGS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
        if lowering is None:
            raise Unsupported(f"no TensorFlow lowering for {node.op_type}")
        extra = {"opset": opset} if _takes(lowering, "opset") else {}
        if _takes(lowering, "output_count"):
            extra["output_count"] = len(node.output)
        result = lowering(import_tensorflow(), *arguments, **attributes, **extra)
        return result if isinstance(result, (list, tuple)) else [result]
