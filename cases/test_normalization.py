"""Certification of the normalization family on every selected backend."""

OPERATORS = (
    "BatchNormalization",
    "LRN",
    "LayerNormalization",
    "InstanceNormalization",
    "GroupNormalization",
    "MeanVarianceNormalization",
    "LpNormalization",
    "RMSNormalization",
)


def test_normalization(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
