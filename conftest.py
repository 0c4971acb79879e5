"""Root conftest. The certification plugin (``conformance.pytest_plugin``: ``--backend``, the
fixtures) and pytester are loaded by ``-p`` in pyproject.toml's ``addopts``, not ``pytest_plugins``
here: a project that has this repository installed in editable mode collects the package's own
certification modules from it (``pytest --conformance``), and pytest refuses ``pytest_plugins`` in
a conftest above those.
"""
