"""CI's parity step (``.ci/parity-check``) against the committed baseline: a changed answer fails it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.backends import backend_status

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("backend, regressed", [
    ("onnxruntime", False),  # the real backend gives the baseline's answers
    ("tests.planted:OnnxRuntimeFlippingConv", True),  # an "upgrade" that flips Conv's kernel
])
def test_ci_fails_on_a_planted_regression_against_the_committed_baseline(tmp_path, backend, regressed):
    if not backend_status("onnxruntime").available:
        pytest.skip("onnxruntime is not installed")
    env = {**os.environ, "PYTHON": sys.executable, "PARITY_OUT": str(tmp_path)}
    result = subprocess.run([str(ROOT / ".ci" / "parity-check"), "--ops", "Conv", "--backend", backend],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == (1 if regressed else 0), log
    assert "## Parity diff: `reports/baseline.json`" in log
    if regressed:
        assert "**1 regression.**" in log and "### Regressions (1)" in log
        assert "- Conv on onnxruntime " in log and "→ disagree (flipped_kernel)" in log
        assert "refresh it with `conformance report --update-baseline`" in log
    else:
        assert "**No regression.**" in log
