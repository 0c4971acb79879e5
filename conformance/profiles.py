"""Hypothesis profiles: ``ci`` (derandomized, the default), ``dev`` and ``thorough``.

Deadlines are off: speed is measured by the benchmark, not asserted per example. The example
database is off too: runs are reproducible from the seed, and failing cases are saved as files.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

PROFILES = {
    "ci": {"max_examples": 25, "derandomize": True},
    "dev": {"max_examples": 100},
    "thorough": {"max_examples": 1000},
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
