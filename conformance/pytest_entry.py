"""The plugin pytest loads wherever nn-conformance is installed (the ``pytest11`` entry point),
dormant until ``--conformance`` asks for it.

Without ``--conformance`` it adds that one option and nothing else: no fixture, no hook, no
Hypothesis profile, so that a project that merely has the package installed collects and runs
exactly what it did before. With it:

- the certification plugin (``conformance.pytest_plugin``: ``--backend``, ``--conformance-ops``,
  ``--known-divergences``, ``--conformance-report``, the fixtures) is registered, before pytest
  reads the rest of the command line, so its options are accepted;
- the certification modules the package ships (``conformance.certification``) are collected: alone
  when no test path is given (not the project's own ``testpaths``), beside the given ones otherwise;
- the ``[tool.conformance]`` table of the project's ``pyproject.toml`` gives the defaults
  (``conformance.project``): the backends, the operators, the profile, the project's own manifest of
  known divergences.
"""

from __future__ import annotations

import pytest

PLUGIN = "conformance.pytest_plugin"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("conformance", "operator conformance certification").addoption(
        "--conformance", action="store_true", default=False,
        help="certify operators on backends with the certification tests the installed nn-conformance ships"
             " (no test file needed); defaults from [tool.conformance] in pyproject.toml",
    )


def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    if not early_config.known_args_namespace.conformance:
        return
    from conformance.certification import directory

    # Registered under its module's name, so that a conftest's ``pytest_plugins`` naming it finds it loaded.
    early_config.pluginmanager.import_plugin(PLUGIN)
    certification = str(directory())
    if certification not in args:  # a pytest-xdist worker may get the controller's arguments
        args.append(certification)
