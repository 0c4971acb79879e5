"""Certification of the activations and the softmax family on every selected backend."""

OPERATORS = (
    "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
    "Softplus", "Softsign", "Gelu", "Mish", "ThresholdedRelu", "Clip", "Softmax", "LogSoftmax", "Hardmax",
)


def test_activations(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
