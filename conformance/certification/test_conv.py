"""Certification of the convolution family (Conv, ConvTranspose) on every selected backend."""

from conformance.certification import family_operators

OPERATORS = family_operators("conv")


def test_conv(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
