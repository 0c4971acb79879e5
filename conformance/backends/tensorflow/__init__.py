"""The ``tensorflow`` backend: ONNX nodes lowered to ``tf.nn`` / ``tf.raw_ops``, run eagerly.

Tensors are channels-first (NCHW) at the backend's border, as in ONNX, and channels-last (NHWC)
inside, as TensorFlow's CPU kernels expect. Each lowering maps ONNX attributes to TensorFlow's
own conventions and raises Unsupported where TensorFlow has no equivalent (an even LRN size, say).
No module here imports the reference: what the lowerings need of ONNX's arithmetic (window
geometry, attribute defaults) they derive again from the spec (``geometry``, ``attributes``), so
that a mistake on either side shows as a disagreement (tests/test_tensorflow_independent.py).
TensorFlow is imported once, on the first run, so that merely loading the backend stays cheap.

TensorFlow has two CPU paths, chosen when it is imported: its oneDNN kernels or its Eigen
kernels (``facts`` explains which runs where). ``tensorflow`` takes whichever this process's
environment gives; options choose one on any machine, running TensorFlow in a child process
started with the matching environment (``process``):

- ``tensorflow[onednn=on]`` and ``tensorflow[onednn=off]`` set ``TF_ENABLE_ONEDNN_OPTS``;
- ``isa=`` caps oneDNN's instruction set (``ONEDNN_MAX_CPU_ISA``), so that a machine with AVX-512
  runs the kernels an AVX2-only CPU would: ``tensorflow[onednn=off,isa=avx2]`` is what TensorFlow
  does by default on such a CPU (oneDNN's operations off, its sgemm still serving Eigen), and
  ``tensorflow[onednn=on,isa=avx2]`` what it does there with ``TF_ENABLE_ONEDNN_OPTS=1``.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from contextlib import contextmanager
from functools import cache
from typing import Any, Callable, Mapping

import numpy as np
import onnx

from conformance.backends import distribution_version
from conformance.backends.graph import run_graph
from conformance.errors import ConformanceError, Unsupported
from conformance.registry import FamilyRegistry

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
    """Import TensorFlow quietly: its C++ logging is the backend's, not the run's to show.

    ``TF_CPP_MIN_LOG_LEVEL`` 3 (unless the user set it) silences TensorFlow's own messages, such as
    oneDNN's fallback to Eigen for float16; abseil's start-up lines ignore it, so standard error
    is closed to the import itself (TensorFlow's errors still arrive as exceptions).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with _stderr_to_devnull():
        import tensorflow as tf

    return tf


@contextmanager
def _stderr_to_devnull():
    """Standard error, at the file-descriptor level (native code's too), sent to /dev/null."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


ONEDNN_SWITCH = {"on": "1", "off": "0"}
ISA_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TensorFlowBackend:
    """TensorFlow as this process's environment sets it up, or (with options) as they ask."""

    evaluates_node_by_node = True  # eager, one lowering per node (run_graph), in this process or the child

    def __init__(self, onednn: str | None = None, isa: str | None = None):
        self.version = distribution_version("tensorflow-cpu", "tensorflow", "tensorflow-intel")
        self.environment = _environment(onednn, isa)
        options = [f"{key}={value}" for key, value in (("onednn", onednn), ("isa", isa)) if value is not None]
        self.name = "tensorflow" + (f"[{','.join(options)}]" if options else "")
        self._process = None
        if self.environment:
            from conformance.backends.tensorflow.process import TensorFlowProcess

            self._process = TensorFlowProcess(self.environment)

    def supports(self, op_type: str) -> bool:
        return op_type in LOWERINGS

    def execution_facts(self) -> dict:
        """oneDNN on or off, its instruction set and the dtypes it runs (see ``facts``). TensorFlow,
        which a run of this process's needs anyway, is imported while the probe runs."""
        from conformance.backends.tensorflow.facts import tensorflow_facts

        return tensorflow_facts(self.environment, while_probing=None if self._process else import_tensorflow)

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        if self._process is not None:
            return self._process.run(model, inputs)
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


def _environment(onednn: str | None, isa: str | None) -> dict[str, str]:
    """The environment variables the options set (empty: this process's TensorFlow)."""
    environment = {}
    if onednn is not None:
        if onednn not in ONEDNN_SWITCH:
            raise ConformanceError(f"tensorflow: onednn must be on or off, not {onednn!r}")
        environment["TF_ENABLE_ONEDNN_OPTS"] = ONEDNN_SWITCH[onednn]
    if isa is not None:
        if not ISA_NAME.match(isa):
            raise ConformanceError(f"tensorflow: isa must be a oneDNN instruction set such as avx2 or avx512_core"
                                   f" (ONEDNN_MAX_CPU_ISA, lower case), not {isa!r}")
        environment["ONEDNN_MAX_CPU_ISA"] = isa.upper()
    return environment
