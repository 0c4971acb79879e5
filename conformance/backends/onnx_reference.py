"""The ``onnx-reference`` backend: ``onnx.reference.ReferenceEvaluator``, ONNX's Python runtime."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import onnx

from conformance.backends import distribution_version

CACHE_SIZE = 64
CACHED_MODEL_BYTES = 2**20  # a larger model (a whole network) is evaluated without keeping its evaluator


class OnnxReferenceBackend:
    name = "onnx-reference"
    evaluates_node_by_node = True  # conformance.backends: one model-check run serves outputs and tensors

    def __init__(self):
        self.version = distribution_version("onnx")
        self._evaluators: OrderedDict[bytes, object] = OrderedDict()

    def execution_facts(self) -> dict:
        """The SIMD targets NumPy's loops dispatch to: onnx.reference computes with NumPy."""
        from conformance.environment import numpy_facts

        return numpy_facts()

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        from onnx.reference import ReferenceEvaluator

        key = model.SerializeToString()
        evaluator = self._evaluators.pop(key, None) or ReferenceEvaluator(model)
        if len(key) > CACHED_MODEL_BYTES:
            return [np.asarray(o) for o in evaluator.run(None, inputs)]
        self._evaluators[key] = evaluator
        while len(self._evaluators) > CACHE_SIZE:
            self._evaluators.popitem(last=False)
        return [np.asarray(o) for o in evaluator.run(None, inputs)]
