"""Certification of the pooling family on every selected backend."""

from conformance.certification import family_operators

OPERATORS = family_operators("pooling")


def test_pooling(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
