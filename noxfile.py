"""The framework version matrix: the parity report on pinned onnxruntime and TensorFlow releases.

    nox                                  # every release below, then the merged matrix
    nox -s "onnxruntime(version='1.21.1')"  # one release
    nox -s matrix                        # merge the reports that exist

Each release session installs this project and one pinned release into a virtualenv of its own
(``nox --envdir DIR`` puts them elsewhere) and certifies that backend alone, writing
``reports/matrix/<backend>-<version>/``. ``matrix`` merges every such report with
``conformance report --merge`` into ``reports/matrix/parity.{json,md,html}``: one matrix, a
column per release. The sessions need a package index (PyPI or a mirror of it) and nothing else
from the network. Extra arguments go to ``conformance report``: ``nox -- --profile dev -j 2``.

The pins: onnxruntime 1.20.1 refuses opset-22 models (the suite draws every operator at its
current opset in the installed onnx: Conv-22), which the matrix shows; 1.21.1 is the oldest
release that loads them. TensorFlow 2.20.0 is the oldest release whose protobuf requirement is
compatible with onnx 1.23 (2.19 needs protobuf < 6, onnx 1.23 needs >= 6.31.1).
"""

from __future__ import annotations

from pathlib import Path

import nox

ONNXRUNTIME = ("1.20.1", "1.21.1", "1.32.0")
TENSORFLOW = ("2.20.0", "2.21.0")
MATRIX = Path("reports") / "matrix"

nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True


def _report(session: nox.Session, backend: str, version: str) -> None:
    out = MATRIX / f"{backend}-{version}"
    # Exit status 1 means a failing cell, which is a finding to merge, not a broken session.
    session.run("python", "-m", "conformance", "report", "--backend", backend, "--out", str(out), *session.posargs,
                success_codes=[0, 1])


@nox.session
@nox.parametrize("version", ONNXRUNTIME)
def onnxruntime(session: nox.Session, version: str) -> None:
    """The report on one onnxruntime release."""
    session.install("-e", ".", f"onnxruntime=={version}")
    _report(session, "onnxruntime", version)


@nox.session
@nox.parametrize("version", TENSORFLOW)
def tensorflow(session: nox.Session, version: str) -> None:
    """The report on one TensorFlow release (the CPU build)."""
    session.install("-e", ".", f"tensorflow-cpu=={version}")
    _report(session, "tensorflow", version)


@nox.session
def matrix(session: nox.Session) -> None:
    """Merge the release reports into reports/matrix/parity.{json,md,html}."""
    reports = sorted(str(p) for p in MATRIX.glob("*/parity.json"))
    if not reports:
        session.error(f"no release report under {MATRIX}: run the release sessions first")
    session.install("-e", ".")
    session.run("python", "-m", "conformance", "report", "--merge", *reports, "--out", str(MATRIX))
