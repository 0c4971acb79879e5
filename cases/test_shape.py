"""Certification of shape and data movement on every selected backend.

The tests are the package's own (``conformance.certification.test_shape``), the ones
``pytest --conformance`` runs wherever the package is installed.
"""

from conformance.certification.test_shape import *  # noqa: F403
