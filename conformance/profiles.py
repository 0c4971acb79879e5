"""Hypothesis profiles: ``ci`` (derandomized, the default), ``dev`` and ``thorough``.

Deadlines are off: speed is measured by the benchmark, not asserted per example. The example
database is off too: runs are reproducible from the seed, and failing cases are saved as files.
For the same reason every search runs ``without_local_constants`` (see there).
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import Iterator

from hypothesis import HealthCheck, Phase, settings

PROFILES = {
    "ci": {"max_examples": 25, "derandomize": True},
    # Stated, not inherited: a profile registered while ``ci`` is loaded would inherit its derandomize.
    "dev": {"max_examples": 100, "derandomize": False},
    "thorough": {"max_examples": 1000, "derandomize": False},
}
DEFAULT_PROFILE = "ci"

COMMON = {
    "deadline": None,
    "database": None,
    "print_blob": False,
    "report_multiple_bugs": False,
    "phases": (Phase.explicit, Phase.generate, Phase.target, Phase.shrink),
    "suppress_health_check": (HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                              HealthCheck.nested_given, HealthCheck.differing_executors),
}


def register_profiles() -> None:
    """Register the three profiles with Hypothesis (idempotent)."""
    for name, values in PROFILES.items():
        settings.register_profile(name, **COMMON, **values)


def profile_settings(profile: str | None = None, examples: int | None = None, seed: int | None = None) -> settings:
    """Settings for one certification: a profile, optionally with another example count or a seed."""
    register_profiles()
    base = settings.get_profile(profile) if profile else settings.default
    overrides = {}
    if examples is not None:
        overrides["max_examples"] = examples
    if seed is not None:
        overrides["derandomize"] = False
    return settings(base, **overrides)


@contextmanager
def without_local_constants() -> Iterator[None]:
    """Within this block, Hypothesis draws only from the strategies, not from local source constants.

    Recent Hypothesis (6.170 here) also offers, now and then, integers it found in the source of the
    *local* modules imported so far (``hypothesis.internal.conjecture.providers``). The cases a
    seed gives then depend on import history: a report's worker that loaded the onnxruntime
    backend for an earlier cell, a pytest process, and ``conformance certify`` drew different
    cases from the same seed. Our strategies draw seeds and shapes, where such constants add
    nothing, so the pool is emptied here: a seed names one sequence of cases in every process.
    Hypothesis has no setting for this; if its internals move, this does nothing, and
    ``tests/test_report.py`` (same seed, same report, in and out of worker processes) fails.
    """
    try:
        providers = importlib.import_module("hypothesis.internal.conjecture.providers")
        constants = importlib.import_module("hypothesis.internal.constants_ast").Constants
        original, cache = providers._get_local_constants, providers.CONSTANTS_CACHE
    except (ImportError, AttributeError):  # pragma: no cover - another Hypothesis layout
        yield
        return
    cache.cache.clear()  # it may hold local constants from an earlier search
    providers._get_local_constants = lambda: constants()
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.cache.clear()
