"""Root conftest: the conformance pytest plugin (options --backend, --known-divergences, fixtures)."""

pytest_plugins = ["conformance.pytest_plugin", "pytester"]
