"""Reductions and shape operators: planted bugs are caught and named, benign backends pass.

Each convention the diagnosis claims to recognise for these operators is planted in a backend of
its own (tests/planted_tensor.py, written as a backend would commit the bug, not through the
reference's variants). It must be caught (a disagreement, or an error where the bug makes the
call impossible) and named: certification's own diagnosis of its minimal case must include the
variant, and the diagnosis of several failing cases drawn from the declaration must be exactly
that variant (a minimal case can be ambiguous: Flatten(axis=-1) of a 1-D input is the same under
an off-by-one axis and an ignored one). Benign backends (float64 rounded once, NumPy in the input
dtype, left to right in the input dtype) must agree.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from conformance.certify import certify, run_example
from conformance.diagnosis import diagnose_all
from conformance.ops import get_declaration
from conformance.profiles import profile_settings
from tests import planted_tensor as planted

PLANTED = [
    (planted.KeepdimsDefaultFalse, "ReduceSum", "keepdims_default_false"),
    (planted.KeepdimsDefaultFalse, "ReduceMax", "keepdims_default_false"),
    (planted.NoopIgnored, "ReduceMean", "noop_ignored"),
    (planted.EmptyAxesReduceNothing, "ReduceProd", "empty_axes_reduce_nothing"),
    (planted.NoopSkipsCompositeSteps, "ReduceSumSquare", "noop_skips_composite_steps"),
    (planted.NoopSkipsCompositeSteps, "ReduceL2", "noop_skips_composite_steps"),
    (planted.LogSumExpWithoutMax, "ReduceLogSumExp", "no_max_subtraction"),
    (planted.FlattenNhwc, "Flatten", "nhwc_order"),
    (planted.FlattenAxisIgnored, "Flatten", "axis_ignored"),
    (planted.FlattenNegativeAxisOffByOne, "Flatten", "negative_axis_off_by_one"),
    (planted.SqueezeEverything, "Squeeze", "axes_ignored"),
    (planted.UnsqueezeNegativeAxesInInputRank, "Unsqueeze", "negative_axes_in_input_rank"),
    (planted.UnsqueezeInGivenOrder, "Unsqueeze", "axes_in_given_order"),
    (planted.SplitLikeArraySplit, "Split", "array_split_sizes"),
    (planted.TransposePermInverted, "Transpose", "perm_inverted"),
    (planted.SliceEndsClampedLikePositive, "Slice", "negative_step_clamped_like_positive"),
    (planted.SliceLikePython, "Slice", "starts_clamped_like_numpy"),
    (planted.SliceIntMaxEndUnbounded, "Slice", "int_max_end_as_unbounded"),
    (planted.PadReflectAsSymmetric, "Pad", "reflect_as_symmetric"),
    (planted.PadsInterleaved, "Pad", "pads_interleaved"),
    (planted.TileRepeatsElements, "Tile", "repeat_interleave"),
    (planted.BlockModeSwapped, "DepthToSpace", "mode_swapped"),
    (planted.BlockModeSwapped, "SpaceToDepth", "mode_swapped"),
    (planted.BlockTransposed, "DepthToSpace", "block_transposed"),
    (planted.BlockTransposed, "SpaceToDepth", "block_transposed"),
]
NAMING_EXAMPLES = 4  # failing cases whose diagnoses must agree on the one variant
QUIET = list(HealthCheck)


def failing_examples(op: str, backend, count: int = NAMING_EXAMPLES, draws: int = 200) -> list:
    """Up to ``count`` (case, outputs) pairs drawn from the declaration on which ``backend`` disagrees."""
    declaration, found = get_declaration(op), []

    @settings(profile_settings("ci", examples=draws), suppress_health_check=QUIET)
    @given(declaration.cases())
    def collect(case):
        if len(found) < count:
            outcome = run_example(declaration, backend, case)
            if outcome.status == "disagree":
                found.append((case, outcome.outputs))

    collect()
    return found


@pytest.mark.parametrize("planted_backend, op, expected", PLANTED,
                         ids=[f"{op}-{name}" for _, op, name in PLANTED])
def test_planted_bug_is_caught_and_named(planted_backend, op, expected):
    backend, declaration = planted_backend(), get_declaration(op)
    result = certify(declaration, backend, profile_settings("ci", examples=200))
    assert result.status in ("disagree", "error"), f"{backend.name} passed {op}: {result.examples} examples agreed"
    if result.status == "disagree":
        assert expected in result.diagnosis, (
            f"{backend.name} on {op}: diagnosis {result.diagnosis} of {result.counterexample.description}")
    examples = failing_examples(op, backend)
    assert examples, f"{backend.name} never disagreed on {op} (only errors)"
    assert diagnose_all(declaration, examples) == [expected], [case.describe() for case, _ in examples]


BENIGN_REDUCTIONS = [planted.RoundedOnce, planted.NumpyInPrecision, planted.LeftToRight]


@pytest.mark.parametrize("op", planted.REDUCTIONS)
@pytest.mark.parametrize("benign_backend", BENIGN_REDUCTIONS, ids=[b.name for b in BENIGN_REDUCTIONS])
def test_benign_backend_passes_reductions(op, benign_backend):
    backend = benign_backend()
    result = certify(get_declaration(op), backend, profile_settings("ci", examples=80))
    assert result.status == "agree", f"{backend.name} on {op}: {result.message}"
    assert result.examples >= 70
    assert result.max_error_ratio <= 1


SHAPE_OPERATORS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Split", "Transpose", "Slice", "Pad",
                   "Tile", "Expand", "DepthToSpace", "SpaceToDepth")


@pytest.mark.parametrize("op", SHAPE_OPERATORS)
def test_rounded_once_passes_shape_operators(op):
    result = certify(get_declaration(op), planted.RoundedOnce(), profile_settings("ci", examples=40))
    assert result.status == "agree", result.message
    assert result.max_error_ratio == 0


def test_log_sum_exp_without_max_agrees_wherever_nothing_overflows():
    """Computing log(sum(exp(x))) directly is accurate while exp stays finite and normal: the bound
    admits it there, and the planted bug is caught only through overflow and underflow."""
    declaration, backend, statuses = get_declaration("ReduceLogSumExp"), planted.LogSumExpWithoutMax(), []
    limits = {"float16": 8.0, "float32": 80.0, "float64": 700.0}

    @settings(profile_settings("ci", examples=200), suppress_health_check=QUIET)
    @given(declaration.cases().filter(lambda c: c.inputs["data"].size == 0 or
                                      np.abs(c.inputs["data"].astype(np.float64)).max() < limits[str(c.dtype)]))
    def check(case):
        outcome = run_example(declaration, backend, case)
        assert outcome.status == "agree", f"{case.describe()}: {outcome.message}"
        statuses.append(outcome.status)

    check()
    assert len(statuses) >= 100


def test_constant_of_shape_with_its_value_ignored_is_caught():
    result = certify(get_declaration("ConstantOfShape"), planted.ConstantOfShapeValueIgnored(),
                     profile_settings("ci", examples=100))
    assert result.status == "disagree", f"{result.status}: {result.message}"
    assert "value" in result.counterexample.description  # only a case that gives a value can show it
