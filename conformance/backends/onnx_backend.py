"""An adapter that certifies any ``onnx.backend.base.Backend`` (e.g. onnxruntime's own) unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx

from conformance.backends import distribution_version
from conformance.errors import Unsupported


def is_onnx_backend(obj: Any) -> bool:
    """Whether ``obj`` is an ``onnx.backend.base.Backend`` subclass or instance."""
    from onnx.backend.base import Backend

    return (isinstance(obj, type) and issubclass(obj, Backend)) or isinstance(obj, Backend)


class OnnxBackendAdapter:
    """Runs cases through ``prepare(model, device="CPU").run(inputs)`` of an ONNX backend.

    ``is_compatible(model) == False`` is the ONNX backend API's way of declining a model, so it
    maps to Unsupported; any other failure is the backend's error.
    """

    def __init__(self, onnx_backend: Any, spec: str):
        self.onnx_backend = onnx_backend
        self.name = spec
        module = getattr(onnx_backend, "__module__", "") or type(onnx_backend).__module__
        self.version = distribution_version(module.split(".")[0])

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        if not self.onnx_backend.is_compatible(model, device="CPU"):
            raise Unsupported(f"{self.name}.is_compatible() declines this model")
        prepared = self.onnx_backend.prepare(model, device="CPU")
        ordered = [inputs[i.name] for i in model.graph.input if i.name in inputs]
        return [np.asarray(o) for o in prepared.run(ordered)]
