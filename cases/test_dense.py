"""Certification of the dense family (Gemm, MatMul, Gather, Dropout) on every selected backend."""

OPERATORS = ("Gemm", "MatMul", "Gather", "Dropout")


def test_dense(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
