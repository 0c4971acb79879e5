"""TensorFlow in a process of its own, started with the environment a backend spec asks for.

``TF_ENABLE_ONEDNN_OPTS`` and ``ONEDNN_MAX_CPU_ISA`` are read once, when TensorFlow is imported,
so a process holds one TensorFlow CPU path. ``tensorflow[onednn=off]`` (and any other spec with
options) therefore runs its cases in a child process started with those variables set, which
serves them one at a time over a socket:

- request: the serialized model, then the inputs as an ``.npz`` archive;
- reply: a JSON header (``ok``, ``unsupported`` with the reason, or ``error`` with the exception's
  type and message), then for ``ok`` the outputs as an ``.npz`` archive.

Nothing is pickled. An exception in the child comes back as an exception of the same type name
and message, so a verdict reads the same on either side. A child that dies (a crash in native
code) is reported as an error for the case it was running, with the end of what it wrote to
standard error, and started again for the next one; a child whose parent is gone stops itself.
The child's standard error (TensorFlow's C++ logging, which no log level silences entirely) goes
to a temporary file, not the terminal: it is the backend's, not the run's.

Needs POSIX (a socket handed to the child by file descriptor).
"""

from __future__ import annotations

import faulthandler
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from functools import cache
from multiprocessing.connection import Connection
from typing import Mapping

import numpy as np
import onnx

from conformance.errors import ConformanceError, Unsupported

STOP_SECONDS = 5.0
STDERR_TAIL_LINES = 8  # of a dead child's standard error, in the error it becomes


class TensorFlowProcessDied(RuntimeError):
    """The child process running TensorFlow ended while running a case."""


class TensorFlowProcess:
    """A child process running ``TensorFlowBackend()`` with ``environment`` added to this process's."""

    def __init__(self, environment: Mapping[str, str]):
        if os.name != "posix":
            raise ConformanceError("a TensorFlow backend with options runs in a child process, which needs POSIX")
        self.environment = dict(environment)
        self._child: subprocess.Popen | None = None
        self._connection: Connection | None = None
        self._finalizer = None
        self._stderr = tempfile.TemporaryFile()  # the child's log: its tail explains a death
        weakref.finalize(self, self._stderr.close)

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        connection = self._started()
        try:
            connection.send_bytes(model.SerializeToString())
            connection.send_bytes(_archive(inputs))
            header = json.loads(connection.recv_bytes())
            if header["status"] == "ok":
                outputs = _unarchive(connection.recv_bytes())
                return [outputs[str(i)] for i in range(len(outputs))]
        except (EOFError, OSError):
            ended = self._stop()
            raise TensorFlowProcessDied(f"TensorFlow's process died while running this case ({ended})"
                                        + self._stderr_tail()) from None
        if header["status"] == "unsupported":
            raise Unsupported(header["reason"])
        raise _remote_exception(header["type"])(header["message"])

    def close(self) -> None:
        """Stop the child process (it is started again on the next run)."""
        self._stop()

    def _stderr_tail(self) -> str:
        """The last lines the child wrote to standard error (a crash's trace), for an error message."""
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").splitlines()[-STDERR_TAIL_LINES:]
        return ("; its last words: " + " | ".join(line.strip() for line in lines)) if lines else ""

    def _started(self) -> Connection:
        if self._child is not None and self._child.poll() is None:
            return self._connection
        self._stop()
        self._stderr.seek(0)
        self._stderr.truncate()  # a new child's log
        ours, theirs = socket.socketpair()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"), **self.environment}
        with theirs:
            # Standard output stays ours (a report's JSON, say); TensorFlow's logs go to the child's log.
            self._child = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno())], pass_fds=(theirs.fileno(),), env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
            )
        self._connection = Connection(ours.detach())
        self._finalizer = weakref.finalize(self, _stop_child, self._child, self._connection)
        return self._connection

    def _stop(self) -> str:
        """Stop the child, if any; how it ended, for an error message."""
        if self._finalizer is None:
            return "it was not running"
        self._finalizer.detach()
        ended = _stop_child(self._child, self._connection)
        self._child, self._connection, self._finalizer = None, None, None
        return ended


def _stop_child(child: subprocess.Popen, connection: Connection) -> str:
    connection.close()  # the child reads end-of-file and exits
    try:
        code = child.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        code = child.wait()
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


@cache
def _remote_exception(name: str) -> type[Exception]:
    """An exception class named like the child's (``InvalidArgumentError``), for the same verdict text."""
    return type(name, (RuntimeError,), {"__module__": __name__})


def _archive(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _unarchive(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


# -- the child -----------------------------------------------------------------------------------


def _serve(descriptor: int) -> None:
    from conformance.backends.tensorflow import TensorFlowBackend

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    faulthandler.enable()  # a crash in native code leaves its trace on standard error
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    connection = Connection(descriptor)
    backend = TensorFlowBackend()
    while True:
        try:
            model = onnx.load_from_string(connection.recv_bytes())
            inputs = _unarchive(connection.recv_bytes())
        except EOFError:
            return
        try:
            outputs = backend.run(model, inputs)
        except Unsupported as unsupported:
            connection.send_bytes(json.dumps({"status": "unsupported", "reason": unsupported.reason}).encode())
        except Exception as error:  # noqa: BLE001 - every backend failure goes back to the parent
            connection.send_bytes(json.dumps({"status": "error", "type": type(error).__name__,
                                               "message": str(error)}).encode())
        else:
            connection.send_bytes(json.dumps({"status": "ok"}).encode())
            connection.send_bytes(_archive({str(i): np.asarray(o) for i, o in enumerate(outputs)}))


def _exit_with_parent(parent: int) -> None:
    """End this process when its parent is gone (killed, say), even if TensorFlow is stuck."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
