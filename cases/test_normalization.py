"""Certification of the normalization family on every selected backend.

The tests are the package's own (``conformance.certification.test_normalization``), the ones
``pytest --conformance`` runs wherever the package is installed.
"""

from conformance.certification.test_normalization import *  # noqa: F403
