"""Certification of the elementwise family (arithmetic with broadcasting) on every selected backend."""

OPERATORS = ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean",
             "Sqrt", "Exp", "Log", "Abs", "Neg", "Reciprocal", "Erf", "Where")


def test_elementwise(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
