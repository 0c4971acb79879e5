"""Certification of the pooling family on every selected backend.

The tests are the package's own (``conformance.certification.test_pooling``), the ones
``pytest --conformance`` runs wherever the package is installed.
"""

from conformance.certification.test_pooling import *  # noqa: F403
