"""CI's parity step (``.ci/parity-check``) against the committed baseline: a changed answer fails it.

The baseline was made on some machine; these tests give it this machine's execution facts, so that
its answers are compared as made here (on another machine a changed answer is reported as changed
with the environment, which the last test checks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.backends import backend_status

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow_check  # a whole parity run each: CI's slow step runs it
@pytest.mark.parametrize("backend, regressed", [
    ("onnxruntime", False),  # the real backend gives the baseline's answers
    ("tests.planted:OnnxRuntimeFlippingConv", True),  # an "upgrade" that flips Conv's kernel
])
def test_ci_fails_on_a_planted_regression_against_the_committed_baseline(tmp_path, backend, regressed):
    if not backend_status("onnxruntime").available:
        pytest.skip("onnxruntime is not installed")
    baseline = _here(json.loads((ROOT / "reports" / "baseline.json").read_text()), tmp_path / "baseline.json")
    env = {**os.environ, "PYTHON": sys.executable, "PARITY_OUT": str(tmp_path), "PARITY_BASELINE": str(baseline)}
    result = subprocess.run([str(ROOT / ".ci" / "parity-check"), "--ops", "Conv", "--backend", backend],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == (1 if regressed else 0), log
    assert f"## Parity diff: `{baseline}`" in log
    if regressed:
        assert "**1 regression.**" in log and "### Regressions (1)" in log
        assert "- Conv on onnxruntime " in log and "→ disagree (flipped_kernel)" in log
        assert "refresh it with `conformance report --update-baseline`" in log
    else:
        assert "**No regression.**" in log


@pytest.mark.slow_check  # a whole parity run each: CI's slow step runs it
def test_on_another_machine_a_changed_answer_is_reported_with_the_environment(tmp_path):
    """The committed baseline as it is: made on another machine, a changed answer is not a regression."""
    if not backend_status("onnxruntime").available:
        pytest.skip("onnxruntime is not installed")
    baseline = json.loads((ROOT / "reports" / "baseline.json").read_text())
    elsewhere = _here(baseline, tmp_path / "baseline.json")
    elsewhere_data = json.loads(elsewhere.read_text())
    elsewhere_data["environment"]["cpu"]["flags"] = ["sse4_2"]  # a CPU of long ago
    elsewhere.write_text(json.dumps(elsewhere_data))
    env = {**os.environ, "PYTHON": sys.executable, "PARITY_OUT": str(tmp_path), "PARITY_BASELINE": str(elsewhere)}
    result = subprocess.run([str(ROOT / ".ci" / "parity-check"), "--ops", "Conv", "--backend",
                             "tests.planted:OnnxRuntimeFlippingConv"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert "**No regression. 1 answer changed with the environment.**" in log
    assert "known divergence → disagree (flipped_kernel)" in log and "environment: cpu_flags " in log


def _here(baseline: dict, path: Path) -> Path:
    """The baseline as if made on this machine: its answers, this CPU's and onnxruntime's facts."""
    from conformance.backends import load_backend
    from conformance.environment import backend_facts, execution_facts
    from conformance.report.build import cpu_environment

    baseline["environment"]["cpu"] = cpu_environment()
    baseline["environment"]["execution"]["onnxruntime"] = backend_facts(execution_facts(load_backend("onnxruntime")))
    path.write_text(json.dumps(baseline))
    return path
