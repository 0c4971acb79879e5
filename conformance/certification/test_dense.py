"""Certification of the dense family (Gemm, MatMul, Gather, Dropout) on every selected backend."""

from conformance.certification import family_operators

OPERATORS = family_operators("dense")


def test_dense(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
