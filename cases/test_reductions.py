"""Certification of the reductions: the nine Reduce* operators on every selected backend."""

OPERATORS = (
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
    "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare",
)


def test_reductions(op, backend, certify):
    certify(op, backend)


def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
