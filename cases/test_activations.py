"""Certification of the activations and the softmax family on every selected backend.

The tests are the package's own (``conformance.certification.test_activations``), the ones
``pytest --conformance`` runs wherever the package is installed.
"""

from conformance.certification.test_activations import *  # noqa: F403
