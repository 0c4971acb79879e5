"""Certification of the convolution family: Conv and ConvTranspose on every selected backend."""

OPERATORS = ("Conv", "ConvTranspose")


def test_conv(backend, certify):
    certify("Conv", backend)


def test_conv_transpose(backend, certify):
    certify("ConvTranspose", backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
