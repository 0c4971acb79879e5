"""TensorFlow on a chosen CPU path: ``tensorflow[onednn=...]`` runs in a child process of its own.

The child must give the same answers and the same error texts as TensorFlow in this process, pass
Unsupported through, report its own death as an error of the case it was running, start again
for the next case, and never outlive the process that started it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from conformance import Unsupported, load_backend
from conformance.backends.tensorflow.process import TensorFlowProcessDied
from conformance.case import Case
from conformance.certify import certify, looks_like, run_example
from conformance.divergences import load_manifest
from conformance.ops import get_declaration
from conformance.profiles import profile_settings

pytest.importorskip("tensorflow", reason="tensorflow is not installed")

CONV = get_declaration("Conv")


def conv(dtype="float64", **attributes) -> Case:
    rng = np.random.default_rng(0)
    rank = len(attributes.get("dilations", [1, 1]))
    return Case("Conv", {"X": rng.standard_normal((2, 3, *[6] * rank)).astype(dtype),
                         "W": rng.standard_normal((4, 3, *[2] * rank)).astype(dtype)}, attributes)


@pytest.fixture(scope="module")
def eigen():
    backend = load_backend("tensorflow[onednn=off]")
    yield backend
    backend._process.close()


@pytest.fixture(scope="module")
def onednn():
    backend = load_backend("tensorflow[onednn=on]")
    yield backend
    backend._process.close()


def test_the_child_answers_as_tensorflow_in_this_process(eigen):
    here = load_backend("tensorflow")
    case = conv(strides=[2, 1], pads=[1, 0, 0, 1])  # float64: Eigen's kernel on either side
    np.testing.assert_array_equal(eigen.run(case.model, case.feeds)[0], here.run(case.model, case.feeds)[0])
    assert run_example(CONV, eigen, case).status == "agree"


def test_an_error_reads_the_same_from_the_child(eigen):
    dilated = conv(dilations=[2, 2, 2])  # Eigen's float64 Conv3D refuses dilations on every path
    remote, local = run_example(CONV, eigen, dilated), run_example(CONV, load_backend("tensorflow"), dilated)
    assert remote.status == local.status == "error"
    assert remote.message == local.message and remote.message.startswith("InvalidArgumentError: ")


def test_unsupported_passes_through_the_child(eigen):
    case = conv(dilations=[1, 1, 1, 1])  # four spatial axes: TensorFlow convolves over 1 to 3
    with pytest.raises(Unsupported, match="1 to 3 spatial axes"):
        eigen.run(case.model, case.feeds)


@pytest.mark.slow_check  # waits on TensorFlow's child process: CI's slow step runs it
def test_a_child_that_dies_mid_case_is_that_cases_error_and_is_started_again(eigen):
    case = conv()
    eigen.run(case.model, case.feeds)
    child = eigen._process._child
    os.kill(child.pid, signal.SIGSTOP)  # stuck in the case, until killed
    raised: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(raised, eigen.run, case.model, case.feeds))
    worker.start()
    time.sleep(0.5)
    os.kill(child.pid, signal.SIGKILL)
    worker.join(30)
    assert len(raised) == 1 and isinstance(raised[0], TensorFlowProcessDied)
    assert "killed by SIGKILL" in str(raised[0])
    assert run_example(CONV, eigen, case).status == "agree"  # a new child
    assert eigen._process._child.pid != child.pid


def _capture(raised, function, *args):
    try:
        function(*args)
    except BaseException as error:  # noqa: BLE001 - the test inspects it
        raised.append(error)


@pytest.mark.slow_check  # waits on TensorFlow's child process: CI's slow step runs it
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to see the child end")
def test_the_child_stops_when_the_process_that_started_it_is_killed():
    script = textwrap.dedent("""
        import os, signal, sys
        import numpy as np
        from conformance import load_backend
        from conformance.case import Case
        backend = load_backend("tensorflow[onednn=off]")
        case = Case("Relu", {"X": np.ones(3, np.float32)}, {})
        backend.run(case.model, case.feeds)
        print(backend._process._child.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
    child = int(done.stdout.split()[0])
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child), f"TensorFlow's child process {child} outlived its parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in status)
    except FileNotFoundError:
        return False


# --- 3-D SAME with a stride exceeding the kernel by 2 or more: Eigen keeps the negative padding ---

def _issue_case(op: str) -> Case:
    """The 3-D pooling of issue 17: a total SAME padding of -2 on the height, +1 on the width."""
    X = np.random.default_rng(17).standard_normal((2, 1, 1, 3, 1)).astype("float32")
    return Case(op, {"X": X}, {"auto_pad": "SAME_UPPER", "kernel_shape": [1, 1, 2], "strides": [1, 3, 1]})


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_eigens_3d_pooling_follows_the_unclamped_reading_and_onednns_the_clamped_one(op, eigen, onednn):
    declaration = get_declaration(op)
    case = _issue_case(op)
    on_eigen, on_onednn = run_example(declaration, eigen, case), run_example(declaration, onednn, case)
    assert on_eigen.status == "agree" and "pad_shape_unclamped" in on_eigen.verdict.reading.split(" or ")
    assert on_onednn.status == "agree" and on_onednn.verdict.reading == ""


def test_eigens_conv3d_shift_is_its_known_divergence_and_onednn_clamps(eigen, onednn):
    X = np.random.default_rng(17).standard_normal((2, 1, 1, 3, 1)).astype("float32")
    case = Case("Conv", {"X": X, "W": np.ones((1, 1, 1, 1, 1), "float32")},
                {"auto_pad": "SAME_UPPER", "kernel_shape": [1, 1, 1], "strides": [1, 3, 1]})
    entry = {e.id: e for e in load_manifest()}["tensorflow-eigen-conv3d-same-stride-exceeds-kernel-float32"]
    on_eigen = run_example(CONV, eigen, case)
    assert on_eigen.status == "disagree" and looks_like(entry, CONV, case, on_eigen)
    assert run_example(CONV, onednn, case).status == "agree"


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool", "Conv"])
def test_a_ci_run_on_eigen_meets_its_shifted_same_windows(op, eigen):
    """The strategies aim at 3-D SAME with strides exceeding the kernel by 2 or more often enough
    that the ci profile's 25 examples meet Eigen's shift: a reading for pooling, the manifest's
    entry for Conv."""
    result = certify(get_declaration(op), eigen, profile_settings("ci"), divergences=load_manifest(), probe=False)
    assert result.passed, result.message
    if op == "Conv":
        assert result.excused.get("tensorflow-eigen-conv3d-same-stride-exceeds-kernel-float32"), result.excused
    else:
        assert any("pad_shape_unclamped" in named.split(" or ") for named in result.readings), result.readings
