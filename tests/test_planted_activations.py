"""The activation family's planted bugs are caught and named; its benign backends pass.

Each convention the diagnosis claims to recognise for these operators is planted in a backend of
its own (tests/planted_activations.py), written as a backend or converter would get it wrong,
independently of the reference's variants. The benign backends compute every operator in the
input's dtype, by the obvious formulas and by the careful rewritings, and the float64 reference
rounded once: all must stay within the derived bounds.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from cases.test_activations import OPERATORS
from conformance.certify import certify, run_example
from conformance.ops import get_declaration
from conformance.profiles import profile_settings
from tests import planted
from tests import planted_activations as pa

PLANTED = [
    (pa.SoftmaxWithoutMax, "Softmax", "max_not_subtracted"),
    (pa.SoftmaxWithoutMax, "LogSoftmax", "max_not_subtracted"),
    (pa.LeakyReluTensorFlowDefault, "LeakyRelu", "tf_default_alpha"),
    (pa.LeakyReluKerasDefault, "LeakyRelu", "keras_default_alpha"),
    (pa.GeluAlwaysTanh, "Gelu", "tanh_approximation"),
    (pa.GeluIgnoresApproximate, "Gelu", "approximate_ignored"),
    (pa.HardSigmoidPyTorchDefault, "HardSigmoid", "one_sixth_default_alpha"),
    (pa.HardSwishWithHardSigmoidDefaults, "HardSwish", "hard_sigmoid_default_alpha"),
    (pa.SoftmaxFamilyOneAxis, "Softmax", "one_axis"),
    (pa.SoftmaxFamilyOneAxis, "LogSoftmax", "one_axis"),
    (pa.SoftmaxFamilyOneAxis, "Hardmax", "one_axis"),
    (pa.SoftmaxFamilyCoerced, "Softmax", "coerced_to_2d"),
    (pa.SoftmaxFamilyCoerced, "LogSoftmax", "coerced_to_2d"),
    (pa.SoftmaxFamilyCoerced, "Hardmax", "coerced_to_2d"),
    (pa.LogSoftmaxAsLogOfSoftmax, "LogSoftmax", "log_of_softmax"),
    (pa.HardmaxLastMaximum, "Hardmax", "last_maximum"),
    (pa.HardmaxEveryMaximum, "Hardmax", "every_maximum"),
    (pa.PReluPerChannel, "PRelu", "slope_per_channel"),
    (pa.EluAlphaIgnored, "Elu", "alpha_ignored"),
    (pa.SeluTensorFlowConstants, "Selu", "tf_constants"),
    (pa.SoftplusOverflow, "Softplus", "exp_overflow"),
    (pa.ThresholdedReluInclusive, "ThresholdedRelu", "threshold_inclusive"),
    (pa.ClipMinWins, "Clip", "min_wins"),
    (planted.Float16Operands, "Sigmoid", "float16_operands"),
    (planted.Float16Operands, "Tanh", "float16_operands"),
    (planted.Float16Operands, "Mish", "float16_operands"),
]
BENIGN = [pa.ObviousNumpy, pa.StableNumpy, planted.RoundedOnce]
# Selections: a correct backend's output is exact, so its error ratio is 0.
EXACT = {"Relu", "ThresholdedRelu", "Clip", "Hardmax"}


@pytest.mark.parametrize("planted_backend, op, expected", PLANTED,
                         ids=[f"{op}-{name}" for _, op, name in PLANTED])
def test_planted_bug_is_caught_and_named(planted_backend, op, expected):
    backend = planted_backend()
    result = certify(get_declaration(op), backend, profile_settings("ci", examples=200))
    assert result.status == "disagree", (
        f"{backend.name} on {op}: {result.status} ({result.examples} examples) {result.message}")
    assert result.diagnosis == [expected], (
        f"{backend.name} on {op}: diagnosis {result.diagnosis}, expected [{expected!r}];"
        f" counterexample {result.counterexample.description}"
    )


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("benign_backend", BENIGN, ids=[b.name for b in BENIGN])
def test_benign_backend_passes(op, benign_backend):
    backend = benign_backend()
    result = certify(get_declaration(op), backend, profile_settings("ci", examples=100))
    assert result.status == "agree", f"{backend.name} on {op}: {result.message}"
    assert result.examples >= 80
    assert result.max_error_ratio <= 1
    if op not in EXACT:
        assert result.max_error_ratio > 0


# Operators whose relative condition number |x f'(x) / f(x)| is about 1 near 0, so that an input
# rounded to float16 moves the output by about 2^-11 relative whatever the scale. (Sigmoid, Softplus
# and the softmax family are insensitive to their inputs' relative rounding at small scales, where
# float16 operands cannot show; the planted test above catches them on larger inputs.)
@pytest.mark.parametrize("op", ["Tanh", "Elu", "Gelu", "Softsign", "Mish"])
def test_float16_operands_are_caught_on_most_float32_examples(op):
    """The bounds are tight enough to see float16 operands on most single float32 cases, not only
    somewhere in a search (cases whose values are all exact in float16 cannot show it)."""
    declaration, backend, statuses = get_declaration(op), planted.Float16Operands(), []

    @settings(profile_settings("ci", examples=150), suppress_health_check=list(HealthCheck))
    @given(declaration.cases().filter(lambda case: case.dtype == np.float32))
    def check(case):
        statuses.append(run_example(declaration, backend, case).status)

    check()
    caught = statuses.count("disagree") / len(statuses)
    assert caught > 0.75, f"only {caught:.0%} of float32 {op} cases caught float16 operands"
