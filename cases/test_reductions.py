"""Certification of the reductions on every selected backend.

The tests are the package's own (``conformance.certification.test_reductions``), the ones
``pytest --conformance`` runs wherever the package is installed.
"""

from conformance.certification.test_reductions import *  # noqa: F403
