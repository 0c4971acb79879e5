"""Certification of the pooling family on every selected backend."""

OPERATORS = ("MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool")


def test_pooling(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
