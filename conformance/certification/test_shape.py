"""Certification of shape and data movement on every selected backend."""

from conformance.certification import family_operators

OPERATORS = family_operators("shape")


def test_shape(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
