"""Certification of the activations and the softmax family on every selected backend."""

from conformance.certification import family_operators

OPERATORS = family_operators("activations")


def test_activations(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
