"""The package as a user gets it: a wheel installed in a fresh virtual environment, used from a
project folder that holds no clone of this repository and no test file.

- ``pytest --conformance`` certifies the project's backend with the certification tests the wheel
  ships, from the ``[tool.conformance]`` table: a correct backend passes; one that flips Conv's
  kernel fails with the diagnosis; listed in the project's own manifest, its divergence is expected.
- ``conformance report --update-baseline`` and ``conformance diff`` use the same table.
- Without ``--conformance`` the installed plugin changes nothing: a project's own tests (with a
  ``--backend`` option and a ``backend`` fixture of their own, and Hypothesis's default settings)
  collect and run exactly as with the plugin blocked.

The wheel's dependencies are installed from the package index like any user's (``pip install``);
nothing is shared with the environment running these tests. Building and installing takes most of
a minute, so these tests run with ``--slow-checks`` only: ``.ci/run`` runs them after the
default tests.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow_check  # run with --slow-checks (.ci/run does)

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGED = ("pyproject.toml", "README.md", "conformance", "reference")  # what the wheel is built from
BUILD_LEFTOVERS = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
TIMEOUT = 600

RUNTIME = '''
"""A user's runtime, as the conformance suite sees it (here: the float64 reference, rounded once)."""
import numpy as np
from conformance.backends import load_backend


class Runtime:
    name, version = "my-runtime", "1.0"

    def __init__(self):
        self._engine = load_backend("reference")

    def run(self, model, inputs):
        return self._engine.run(model, self.prepare(model, inputs))

    def prepare(self, model, inputs):
        return inputs


class FlippingRuntime(Runtime):
    """Computes true convolution, as Theano did: Conv's kernel flipped along its spatial axes."""

    name = "my-flipping-runtime"

    def prepare(self, model, inputs):
        node = model.graph.node[0]
        if node.op_type != "Conv":
            return inputs
        W = inputs[node.input[1]]
        return {**inputs, node.input[1]: np.ascontiguousarray(np.flip(W, axis=tuple(range(2, W.ndim))))}
'''

TABLE = '''
[tool.conformance]
backends = ["my_runtime:{backend}"]
ops = ["Conv", "LRN", "BatchNormalization"]
profile = "ci"
baseline = "conformance/baseline.json"
{manifest}
'''

MANIFEST = '''
[[divergence]]
id = "my-flipping-runtime-true-convolution"
backend = "my-flipping-runtime"
op = "Conv"
status = "disagree"
diagnosis = "flipped_kernel"
reason = "our runtime computes true convolution, by design"
link = "https://example.org/our-docs/convolution"
'''

OWN_TESTS = {
    "conftest.py": '''
        import pytest

        def pytest_addoption(parser):
            parser.addoption("--backend", default="cpu")

        @pytest.fixture
        def backend(request):
            return request.config.getoption("backend")
    ''',
    "test_own.py": '''
        from hypothesis import given, settings, strategies as st

        def test_backend(backend):
            assert backend == "cpu"

        @given(st.integers())
        def test_hypothesis_defaults(x):
            # Compared between runs with and without the plugin: Hypothesis's own defaults depend on
            # the environment (a CI variable loads its "ci" profile), the plugin must not change them.
            print(f"\\nhypothesis defaults: {settings.default!r}")
    ''',
}


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> Path:
    """A fresh virtual environment with this repository's wheel (and its dependencies) installed:
    once per run, shared by pytest-xdist's workers (the first to come builds it, the others wait)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's directory, above each worker's own
    root = shared / "installed-wheel"
    with open(shared / "installed-wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "ready").exists():
            shutil.rmtree(root, ignore_errors=True)
            _install(root)
            (root / "ready").touch()
    return root / "venv"


def _install(root: Path) -> None:
    source, wheels = root / "source", root / "wheels"  # built from a copy: the build leaves files behind
    source.mkdir(parents=True)
    for name in PACKAGED:
        copy = shutil.copytree if (REPOSITORY / name).is_dir() else shutil.copy
        copy(REPOSITORY / name, source / name, **({"ignore": BUILD_LEFTOVERS} if copy is shutil.copytree else {}))
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(source)])
    environment = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(environment)])
    (wheel,) = wheels.glob("nn_conformance-*.whl")
    _run([sys.executable, "-m", "pip", "--python", str(environment / "bin" / "python"), "install", "--quiet",
          str(wheel), "pytest"])


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "my_runtime.py").write_text(RUNTIME)
    return folder


def test_the_wheel_is_what_runs(venv, project):
    where = _run_in(venv, project, "python", "-c", "import conformance, reference; print(conformance.__file__,"
                                                       " reference.__file__)").stdout
    assert all(Path(p).is_relative_to(venv) for p in where.split()), f"not the installed wheel: {where}"


def test_pytest_conformance_certifies_a_project_backend_with_no_test_file(venv, project):
    _table(project, "Runtime")
    correct = _run_in(venv, project, "python", "-m", "pytest", "--conformance", "-p", "no:cacheprovider", "-rA")
    assert correct.returncode == 0, correct.stdout + correct.stderr
    for passed in ("test_conv.py::test_conv[Conv-my_runtime:Runtime]",
                   "test_normalization.py::test_normalization[LRN-my_runtime:Runtime]",
                   "test_normalization.py::test_normalization[BatchNormalization-my_runtime:Runtime]"):
        assert f"PASSED {passed}" in correct.stdout, f"{passed} did not pass:\n{correct.stdout}"
    assert "3 passed" in correct.stdout, correct.stdout  # the table's three operators, no others

    _table(project, "FlippingRuntime")
    flipped = _run_in(venv, project, "python", "-m", "pytest", "--conformance", "-p", "no:cacheprovider")
    assert flipped.returncode == 1, flipped.stdout + flipped.stderr
    assert "FAILED test_conv.py::test_conv[Conv-my_runtime:FlippingRuntime]" in flipped.stdout, flipped.stdout
    assert "diagnosis: flipped_kernel" in flipped.stdout, flipped.stdout
    assert "1 failed, 2 passed" in flipped.stdout, flipped.stdout

    (project / "known_divergences.toml").write_text(MANIFEST)
    _table(project, "FlippingRuntime", manifest='known-divergences = ["known_divergences.toml"]')
    listed = _run_in(venv, project, "python", "-m", "pytest", "--conformance", "-p", "no:cacheprovider", "-rA")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "XFAIL test_conv.py::test_known_divergence[my-flipping-runtime-true-convolution]" in listed.stdout, \
        listed.stdout
    # The cases the flip changes are excused, and others drawn instead: the cell is judged on the rest.
    assert "PASSED test_conv.py::test_conv[Conv-my_runtime:FlippingRuntime]" in listed.stdout, listed.stdout


def test_report_baseline_and_diff_use_the_table(venv, project):
    _table(project, "Runtime")
    report = _run_in(venv, project, "conformance", "report", "--update-baseline", "--out", "reports")
    assert report.returncode == 0, report.stdout + report.stderr
    baseline = project / "conformance" / "baseline.json"
    assert baseline.is_file(), report.stdout
    assert "my-runtime" in baseline.read_text() and '"LRN"' in baseline.read_text()
    assert '"Relu"' not in baseline.read_text(), "the table's operators only"
    diff = _run_in(venv, project, "conformance", "diff", str(baseline), "reports/parity.json")
    assert diff.returncode == 0, diff.stdout + diff.stderr


def test_without_the_option_the_plugin_changes_nothing(venv, project):
    for name, text in OWN_TESTS.items():
        (project / name).write_text(textwrap.dedent(text))
    (project / "pyproject.toml").write_text(TABLE.format(backend="Runtime", manifest=""))  # present, yet dormant
    installed = _run_in(venv, project, "python", "-m", "pytest", "-p", "no:cacheprovider", "-v", "-s")
    blocked = _run_in(venv, project, "python", "-m", "pytest", "-p", "no:cacheprovider", "-v", "-s",
                      "-p", "no:conformance")
    assert installed.returncode == blocked.returncode == 0, installed.stdout + blocked.stdout
    assert _outcomes(installed.stdout) == _outcomes(blocked.stdout) == [
        "test_own.py::test_backend PASSED", "test_own.py::test_hypothesis_defaults PASSED"]
    defaults = [_hypothesis_defaults(run.stdout) for run in (installed, blocked)]
    assert defaults[0] == defaults[1], f"the dormant plugin changed Hypothesis's defaults: {defaults}"
    assert "nn-conformance" in installed.stdout, "the plugin was not installed, so nothing was tested"


def _outcomes(stdout: str) -> list[str]:
    """``test_own.py::name OUTCOME`` per test; with ``-s`` a test's own print sits between the two."""
    return [f"{test} {outcome}" for test, outcome in re.findall(
        r"^(test_own\.py::\S+).*?\b(PASSED|FAILED|ERROR|SKIPPED)\b", stdout, flags=re.MULTILINE | re.DOTALL)]


def _hypothesis_defaults(stdout: str) -> str:
    found = set(re.findall(r"^hypothesis defaults: (.*)$", stdout, flags=re.MULTILINE))
    assert len(found) == 1, f"the test printed Hypothesis's defaults {len(found)} different ways:\n{stdout}"
    return found.pop()


def _table(project: Path, backend: str, manifest: str = "") -> None:
    (project / "pyproject.toml").write_text(TABLE.format(backend=backend, manifest=manifest))


def _run(command: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _run_in(venv: Path, folder: Path, program: str, *args: str) -> subprocess.CompletedProcess:
    """``program`` of the fresh environment, run in ``folder`` as its user would (no PYTHONPATH, no
    pytest options inherited from this run)."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
                   and not k.startswith("PYTEST_XDIST")}
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    return subprocess.run([str(venv / "bin" / program), *args], cwd=folder, capture_output=True, text=True,
                          timeout=TIMEOUT, env=environment)
