"""Certification of the convolution family (Conv, ConvTranspose) on every selected backend.

The tests are the package's own (``conformance.certification.test_conv``), the ones
``pytest --conformance`` runs wherever the package is installed.
"""

from conformance.certification.test_conv import *  # noqa: F403
