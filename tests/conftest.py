"""Self-tests never read or write a developer's probe cache (``.conformance/probes``): each test
that runs ``conformance certify``, ``report`` or pytest's probes keeps its verdicts in its own
temporary directory."""

from __future__ import annotations

import pytest

from conformance.probe_cache import ENVIRONMENT_VARIABLE


@pytest.fixture(autouse=True)
def _own_probe_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path_factory.mktemp("probes")))
