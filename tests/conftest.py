"""What every self-test gets.

- It never reads or writes a developer's probe cache (``.conformance/probes``): each test that runs
  ``conformance certify``, ``report`` or pytest's probes keeps its verdicts in its own temporary
  directory.
- Its Hypothesis draws do not depend on which modules were imported before it: Hypothesis offers
  integers it finds in the source of the local modules imported so far, so a new module anywhere in
  the suite, or another order of the tests (pytest-xdist hands them to workers as they free up),
  would change the derandomized draws, and a thin corner (Resize's int8, 5 in 400 draws) would come
  and go. ``certify`` draws the same way (``conformance.profiles.without_local_constants``).
"""

from __future__ import annotations

import pytest

from conformance.probe_cache import ENVIRONMENT_VARIABLE
from conformance.profiles import without_local_constants


@pytest.fixture(autouse=True)
def _own_probe_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path_factory.mktemp("probes")))


@pytest.fixture(autouse=True)
def _draws_independent_of_imports(request):
    if request.node.get_closest_marker("with_local_constants"):  # a test of that mechanism itself
        yield
        return
    with without_local_constants():
        yield


def pytest_addoption(parser):
    parser.addoption("--slow-checks", action="store_true", default=False,
                     help="also run the tests marked slow_check, which spend their time waiting on processes or on"
                          " whole models: the wheel installed in a fresh virtual environment (tests/test_installed.py),"
                          " the model check on the light models of the onnx wheel (tests/test_model_check.py), whole"
                          " parity runs of the CI script, and worker and child processes that hang, crash or are"
                          " killed. .ci/run runs them after the default tests, which stay under five minutes")


def pytest_configure(config):
    config.addinivalue_line("markers", "with_local_constants: run with Hypothesis's local source constants"
                                       " (tests/conftest.py leaves them out everywhere else)")
    config.addinivalue_line("markers", "slow_check: waits on processes or whole models; runs with --slow-checks"
                                       " (.ci/run does)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("slow_checks"):
        return
    skip = pytest.mark.skip(reason="a slow check: run with --slow-checks (.ci/run does)")
    for item in items:
        if item.get_closest_marker("slow_check"):
            item.add_marker(skip)
