"""Certification of the elementwise family (arithmetic with broadcasting) on every selected backend.

The tests are the package's own (``conformance.certification.test_elementwise``), the ones
``pytest --conformance`` runs wherever the package is installed.
"""

from conformance.certification.test_elementwise import *  # noqa: F403
