"""Certification of Resize on every selected backend.

The tests are the package's own (``conformance.certification.test_resize``), the ones
``pytest --conformance`` runs wherever the package is installed.
"""

from conformance.certification.test_resize import *  # noqa: F403
