"""Planted bugs in elementwise and dense operators are caught and named; benign backends pass."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings

from conformance.certify import certify, run_example
from conformance.diagnosis import diagnose
from conformance.ops import get_declaration
from conformance.profiles import profile_settings
from tests import planted_elementwise as planted

ELEMENTWISE = ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean",
               "Sqrt", "Exp", "Log", "Abs", "Neg", "Reciprocal", "Erf", "Where")
DENSE = ("Gemm", "MatMul", "Gather", "Dropout")

PLANTED = [
    ("Div", planted.FlooringIntegerDivision, ["integer_division_floors"]),
    ("Pow", planted.PowThroughExpLog, ["exp_log_pow"]),
    ("Max", planted.MaxMinIgnoringNaN, ["nan_ignored"]),
    ("Min", planted.MaxMinIgnoringNaN, ["nan_ignored"]),
    ("Gemm", planted.GemmIgnoringBeta, ["beta_ignored"]),
    ("Gemm", planted.GemmSwappedTransposes, ["transposes_swapped"]),
    ("Gather", planted.GatherZeroFillingNegativeIndices, ["negative_indices_zero_filled"]),
    ("Gather", planted.GatherClampingIndices, ["negative_indices_clamped"]),
    ("MatMul", planted.MatMulKeepingPromotedAxis, ["promoted_axis_kept"]),
    ("Dropout", planted.DropoutRatioAsKeepProbability, ["ratio_is_keep_probability"]),
    ("Dropout", planted.DropoutNotRescaled, ["not_rescaled"]),
    ("Dropout", planted.DropoutTrainingByDefault, ["training_by_default"]),
    # No convention explains these two: the statistical test alone must catch them.
    ("Dropout", planted.DropoutWrongRate, []),
    ("Dropout", planted.DropoutFixedPrefix, []),
]


@pytest.mark.parametrize("op, planted_backend, expected", PLANTED,
                         ids=[f"{op}-{backend.name}" for op, backend, _ in PLANTED])
def test_planted_bug_is_caught_and_named(op, planted_backend, expected):
    backend = planted_backend()
    result = certify(get_declaration(op), backend, profile_settings("ci", examples=200))
    if planted_backend is planted.GemmSwappedTransposes and result.status == "error":
        # Swapped transposes make most products impossible, and the backend fails first; the
        # square cases where it silently computes another product are checked below.
        assert "mismatch" in result.message
        return
    assert result.status == "disagree", f"{backend.name} on {op}: {result.status} {result.message}"
    assert result.diagnosis == expected, (
        f"{backend.name} on {op}: diagnosis {result.diagnosis}, expected {expected};"
        f" counterexample {result.counterexample.description}: {result.message}"
    )


@pytest.mark.parametrize("op", ELEMENTWISE + DENSE)
@pytest.mark.parametrize("benign_backend", [planted.NumpyInPrecision, planted.ReversedSummation],
                         ids=lambda b: b.name)
def test_benign_backend_passes(op, benign_backend):
    if benign_backend is planted.ReversedSummation and op not in ("Gemm", "MatMul", "Sum", "Mean"):
        pytest.skip("the reversed summation differs from the obvious implementation only in sums of products and inputs")
    backend = benign_backend()
    result = certify(get_declaration(op), backend, profile_settings("ci", examples=100))
    assert result.status == "agree", f"{backend.name} on {op}: {result.message}"
    assert result.examples >= 90
    assert result.max_error_ratio is not None and result.max_error_ratio <= 1


@pytest.mark.parametrize("op", ["Add", "Div"])
def test_ignoring_the_opset_6_axis_is_caught_and_named_where_the_shapes_still_broadcast(op):
    """A backend that broadcasts opset-6 B as NumPy does, whatever ``axis`` says: on the calls where
    B's axes end before A's last, it fails where the shapes no longer broadcast and is named
    ``legacy_axis_ignored`` where they do."""
    declaration, backend, statuses = get_declaration(op), planted.LegacyAxisIgnored(), Counter()

    @settings(profile_settings("ci", examples=40))
    @given(declaration.cases(pins={"opset": 6, "legacy_form": "inner", "dtype": "float32"}))
    def check(case):
        assert declaration.features(case)["legacy_form"] == "inner"
        outcome = run_example(declaration, backend, case)
        statuses[outcome.status] += 1
        if outcome.status == "disagree":
            assert diagnose(declaration, case, outcome.outputs) == ["legacy_axis_ignored"], case.describe()
        elif outcome.status == "error":
            assert "broadcast" in outcome.message, outcome.message

    check()
    assert statuses["disagree"] and statuses["error"], statuses


def test_swapped_gemm_transposes_are_named_where_they_give_another_product():
    declaration, backend, diagnoses = get_declaration("Gemm"), planted.GemmSwappedTransposes(), []

    @settings(profile_settings("ci", examples=30))
    @given(declaration.cases(pins={"square": True, "transA": 1, "transB": 0, "dtype": "float32", "alpha": [1.0, 0.5, -2.0]}))
    def check(case):
        outcome = run_example(declaration, backend, case)
        assert outcome.status == "disagree", f"{case.describe()}: {outcome.status}"
        diagnoses.append(diagnose(declaration, case, outcome.outputs))

    check()
    assert diagnoses and all(d == ["transposes_swapped"] for d in diagnoses), diagnoses
