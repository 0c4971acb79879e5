"""The ``onnxruntime`` backend: an InferenceSession on the CPU execution provider.

Sessions are cached by the serialized model, so one session serves every example that shares
operator, attributes, dtypes and shapes; a large model (a whole network the model check runs
once) is not cached, since its bytes and its session's copy of its weights would stay in memory
for nothing. Each session runs on one thread (see ``_session``).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import onnx

from conformance.backends import distribution_version

CACHE_SIZE = 256
CACHED_MODEL_BYTES = 2**20  # larger models get a session of their own, not kept
PROVIDER = "CPUExecutionProvider"
THREADS = 1  # intra-op and inter-op threads per session (see _session)


class OnnxRuntimeBackend:
    name = "onnxruntime"

    def __init__(self):
        self.version = distribution_version("onnxruntime", "onnxruntime-gpu")
        self._sessions: OrderedDict[bytes, object] = OrderedDict()

    def execution_facts(self) -> dict:
        """The execution provider, graph optimization level and thread counts every session gets."""
        return {
            "execution_provider": PROVIDER,
            "graph_optimization_level": str(_options().graph_optimization_level).rsplit(".", 1)[-1],
            "intra_op_threads": THREADS,
            "inter_op_threads": THREADS,
        }

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        session = self._session(model.SerializeToString())
        return session.run(None, inputs)

    def run_unoptimized(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """``run`` with every graph optimization off, so that the tensors of a model whose every
        output is marked are the ones its nodes compute, not a fused kernel's (the model check's
        intermediate tensors); never cached."""
        import onnxruntime

        options = _options()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=[PROVIDER])
        return session.run(None, inputs)

    def _session(self, serialized: bytes):
        session = self._sessions.pop(serialized, None)
        if session is None:
            import onnxruntime

            session = onnxruntime.InferenceSession(serialized, _options(), providers=[PROVIDER])
        if len(serialized) > CACHED_MODEL_BYTES:
            return session
        self._sessions[serialized] = session
        while len(self._sessions) > CACHE_SIZE:
            self._sessions.popitem(last=False)
        return session


def _options():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # failures reach the verdict as exceptions; the log would repeat them
    # Every cached session would otherwise own a thread pool: hundreds of them oversubscribe the
    # CPU (measured: 30 instead of 1,000+ examples/s on 2 cores). Results stay within the bound
    # whatever the thread count, which only changes the summation order.
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = THREADS
    return options
