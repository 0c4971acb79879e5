"""Certification of the dense family (Gemm, MatMul, Gather, Dropout) on every selected backend.

The tests are the package's own (``conformance.certification.test_dense``), the ones
``pytest --conformance`` runs wherever the package is installed.
"""

from conformance.certification.test_dense import *  # noqa: F403
