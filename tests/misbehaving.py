"""Backends that misbehave the way native runtimes do, for the report's isolation self-tests.

Each computes Conv correctly (the float64 reference rounded once, like the benign planted
backends) and misbehaves on ConvTranspose only, so a report shows the run going on around the
bad cell:

    conformance report --ops Conv ConvTranspose --backend tests.misbehaving:HangsOnConvTranspose --timeout 5
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np
import onnx

import reference
from conformance.case import Case


class _CorrectConv:
    version = "misbehaving"
    name = "misbehaving"

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        if case.op_type == "ConvTranspose":
            self.misbehave()
        outputs = reference.evaluate(case.op_type, list(case.inputs.values()), case.attributes)
        return [o.astype(case.dtype) for o in outputs]

    def misbehave(self) -> None:
        raise NotImplementedError


class HangsOnConvTranspose(_CorrectConv):
    """Waits forever on a lock nobody releases, as a deadlocked native kernel does (GIL released).
    Where ``HANG_MARKER`` names a file, it creates it first, so that a test knows it is stuck."""

    name = "hangs-on-convtranspose"

    def misbehave(self) -> None:
        marker = os.environ.get(HANG_MARKER)
        if marker:
            open(marker, "a").close()
        threading.Event().wait()


HANG_MARKER = "CONFORMANCE_TEST_HANG_MARKER"


class CrashesOnConvTranspose(_CorrectConv):
    """Dereferences a null pointer: a segmentation fault kills the process, no Python exception."""

    name = "crashes-on-convtranspose"

    def misbehave(self) -> None:
        ctypes.string_at(0)


class ExitsOnConvTranspose(_CorrectConv):
    """Ends the process without a signal or a traceback, as an abort() inside a runtime's C++ code."""

    name = "exits-on-convtranspose"

    def misbehave(self) -> None:
        os._exit(3)


class CrashesInAWorker(_CorrectConv):
    """Computes Conv correctly where it was loaded first, and ends any process spawned to help it
    at its second case (the first warms it up): a shard's worker (``conformance.shards``) that dies
    with shards taken, which the caller must run itself."""

    name = "crashes-in-a-worker"
    runs = 0  # in this process

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        import multiprocessing

        CrashesInAWorker.runs += 1
        if multiprocessing.parent_process() is not None and CrashesInAWorker.runs > 1:
            os._exit(3)
        return super().run(model, inputs)
