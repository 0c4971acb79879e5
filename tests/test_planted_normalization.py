"""Normalization: planted convention bugs are caught and named; correct implementations pass.

The backends live in tests/planted_normalization.py: an independent NumPy implementation of the
family whose hooks plant each bug the way a real backend commits it, and correct variations
(float64 rounded once, the precision the spec asks for, reverse sequential sums, Welford's
variance, BatchNormalization folded into ``x * a + b``). The bounds are also checked from the other
side: a numerically unstable one-pass variance is caught, and a 1e-4 relative error in the
normalization is caught on most single cases where the variance is comparable to epsilon.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from conformance.certify import certify, run_example
from conformance.cli import EXIT_FAILED, main
from conformance.ops import get_declaration
from conformance.profiles import profile_settings
from tests import planted_normalization as planted

FAMILY = ("BatchNormalization", "LRN", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
          "MeanVarianceNormalization", "LpNormalization", "RMSNormalization")
STATISTICS = ("BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
              "MeanVarianceNormalization")

PLANTED = [
    (planted.EpsOutsideSqrt, "BatchNormalization", "eps_outside_sqrt"),
    (planted.MomentumComplement, "BatchNormalization", "momentum_complement"),
    (planted.UnbiasedBatchVariance, "BatchNormalization", "unbiased_batch_variance"),
    (planted.UnbiasedRunningVariance, "BatchNormalization", "unbiased_running_variance"),
    (planted.SavedInvStd, "BatchNormalization", "saved_inv_std"),
    (planted.Float16Operands, "LayerNormalization", "float16_operands"),
    (planted.AlphaNotDividedBySize, "LRN", "alpha_not_divided_by_size"),
    (planted.WindowTorchEven, "LRN", "window_torch_even"),
]
BENIGN = [
    *((backend, op) for backend in (planted.RoundedOnce, planted.InPrecision, planted.SequentialReversed)
      for op in FAMILY),
    *((planted.Welford, op) for op in STATISTICS),
    (planted.FoldedBatchNorm, "BatchNormalization"),
]


@pytest.mark.parametrize("planted_backend, op, expected", PLANTED, ids=[name for _, _, name in PLANTED])
def test_planted_bug_is_caught_and_named(planted_backend, op, expected):
    backend = planted_backend()
    result = certify(get_declaration(op), backend, profile_settings("ci", examples=200))
    assert result.status == "disagree", f"{backend.name} on {op}: {result.status} ({result.message})"
    assert result.diagnosis == [expected], (
        f"{backend.name} on {op}: diagnosis {result.diagnosis}, expected [{expected!r}];"
        f" counterexample {result.counterexample.description}: {result.message}"
    )


@pytest.mark.parametrize("benign_backend, op", BENIGN, ids=[f"{b.name}-{op}" for b, op in BENIGN])
def test_benign_backend_passes(benign_backend, op):
    backend = benign_backend()
    result = certify(get_declaration(op), backend, profile_settings("ci", examples=120))
    assert result.status == "agree", f"{backend.name} on {op}: {result.message}"
    assert result.examples == 120
    assert 0 < result.max_error_ratio <= 1


@pytest.mark.parametrize("op", ("LayerNormalization", "GroupNormalization", "MeanVarianceNormalization"))
def test_a_one_pass_variance_is_caught(op):
    """mean(x^2) - mean(x)^2 in float32 is what the bound is derived to reject (means far from zero)."""
    result = certify(get_declaration(op), planted.OnePassVariance(), profile_settings("ci", examples=200))
    assert result.status == "disagree", result.message


def _caught_share(declaration, backend, condition, examples=300) -> tuple[float, int]:
    statuses = []

    @settings(profile_settings("ci", examples=examples), suppress_health_check=list(HealthCheck))
    @given(declaration.cases().filter(lambda case: condition(declaration.features(case))))
    def check(case):
        statuses.append(run_example(declaration, backend, case).status)

    check()
    return statuses.count("disagree") / len(statuses), len(statuses)


class InverseStdOff(planted.RoundedOnce):
    """A normalization 1e-4 relatively too small: 1 / (sqrt(var + eps) * (1 + 1e-4))."""

    name = "planted-inverse-std-1e-4"

    def denominator(self, variance, epsilon):
        return np.sqrt(variance + epsilon) * (1 + 1e-4)


@pytest.mark.parametrize("op", ("BatchNormalization", "LayerNormalization", "InstanceNormalization"))
def test_a_1e_4_relative_error_is_caught_where_the_variance_is_comparable_to_epsilon(op):
    """Not only somewhere in a search: float32 cases with the variance within two decades of epsilon
    and a mean within ten standard deviations see an error of 1e-4 in the normalization."""
    share, count = _caught_share(
        get_declaration(op), InverseStdOff(),
        lambda f: f["dtype"] == "float32" and f["variance_near_epsilon"] and f["max_mean_to_std"] <= 20)
    assert count >= 50
    assert share > 0.9, f"only {share:.0%} of {count} float32 {op} cases caught a 1e-4 relative error"


def test_eps_outside_sqrt_is_caught_on_every_case_with_the_variance_near_epsilon():
    declaration = get_declaration("BatchNormalization")
    share, count = _caught_share(
        declaration, planted.EpsOutsideSqrt(),
        lambda f: f["dtype"] != "float16" and -1 <= f["min_variance_to_epsilon"] <= 1)
    assert count >= 50 and share == 1.0, f"{share:.0%} of {count} cases caught"


def test_certify_json_names_a_planted_batch_norm_convention(capsys, tmp_path):
    status = main(["certify", "BatchNormalization", "--backend", "tests.planted_normalization:MomentumComplement",
                   "--json", "--profile", "ci", "--failures-dir", str(tmp_path)])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert status == EXIT_FAILED
    assert result["status"] == "disagree" and result["diagnosis"] == ["momentum_complement"]


@pytest.mark.parametrize("shortcut", [planted.Float16Zeros, planted.Float16Unchanged], ids=lambda b: b.name)
@pytest.mark.parametrize("op", ("MeanVarianceNormalization", "InstanceNormalization", "GroupNormalization",
                                "BatchNormalization"))
def test_a_float16_normalization_that_returns_zeros_or_its_input_is_caught_on_every_case(shortcut, op):
    """float16 bounds are finite where the output is determined, and the strategies keep it so: every
    float16 case is judged, and a backend that returns zeros (or X) fails each one of them.

    (When the flush-to-zero floor outgrew small variances, most float16 cases of these operators had
    an infinite bound, and such a backend agreed on them.)"""
    declaration = get_declaration(op)
    backend, statuses, right = shortcut(), [], 0

    @settings(profile_settings("ci", examples=60), suppress_health_check=list(HealthCheck))
    @given(declaration.cases(pins={"dtype": "float16"}))
    def check(case):
        nonlocal right
        expected = declaration.expected(case)[0].astype(np.float16)
        if np.array_equal(backend.shortcut(next(iter(case.inputs.values()))), expected):
            right += 1  # the shortcut is the answer (one element per instance: the output is B)
            return
        outcome = run_example(declaration, backend, case)
        statuses.append((case.describe(), outcome.status, outcome.verdict.judged_elements if outcome.verdict else None))

    check()
    assert len(statuses) >= 50, f"only {len(statuses)} of 60 cases where the shortcut is wrong"
    missed = [s for s in statuses if s[1] != "disagree"]
    assert not missed, f"{backend.name} agreed on {len(missed)} of {len(statuses)} float16 {op} cases: {missed[:3]}"


@pytest.mark.parametrize("op", ("MeanVarianceNormalization", "InstanceNormalization", "GroupNormalization",
                                "BatchNormalization"))
def test_a_correct_float16_normalization_is_judged_on_every_element(op):
    declaration = get_declaration(op)
    unjudged = []

    @settings(profile_settings("ci", examples=60), suppress_health_check=list(HealthCheck))
    @given(declaration.cases(pins={"dtype": "float16"}))
    def check(case):
        outcome = run_example(declaration, planted.InPrecision(), case)
        assert outcome.status == "agree", outcome.message
        unjudged.append(outcome.verdict.elements - outcome.verdict.judged_elements)

    check()
    assert sum(unjudged) == 0, f"{sum(unjudged)} undetermined elements over 60 float16 {op} cases"
