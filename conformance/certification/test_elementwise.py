"""Certification of the elementwise family (arithmetic with broadcasting) on every selected backend."""

from conformance.certification import family_operators

OPERATORS = family_operators("elementwise")


def test_elementwise(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
