"""Certification of the models a project lists in ``[tool.conformance] models`` (none here).

The tests are the package's own (``conformance.certification.test_models``), the ones
``pytest --conformance`` runs wherever the package is installed.
"""

from conformance.certification.test_models import *  # noqa: F403
