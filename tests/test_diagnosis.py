"""A diagnosis that holds: planted convention bugs named correctly and alone, whatever the seed.

The planted backends (tests/planted*.py) commit one convention each, independently of the
reference's variants. ``benchmarks/diagnosis.py`` measures how often a certification names each
one over many seeds; here a few seeds are asserted (ten under ``--hypothesis-profile=thorough``),
with the cases where a single failure cannot decide: a wrong output shape, an error first, and a
shrunk case that two conventions explain alike.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from benchmarks.diagnosis import BUGS, certify_planted
from conformance.backends import load_backend
from conformance.case import Case
from conformance.certify import _diagnosis, _Failure, certify, run_example
from conformance.diagnosis import diagnose, diagnose_all, explains, region_pins
from conformance.ops import declarations, get_declaration
from conformance.profiles import profile_settings
from tests import planted, planted_pooling


def _seeds() -> range:
    # A certification with its diagnosis takes about a second: two seeds per bug by default, ten
    # when the thorough profile asks for depth.
    return range(1, 11) if settings.default.max_examples >= 1000 else range(1, 3)


@pytest.mark.parametrize("bug", BUGS, ids=[f"{b.op}-{b.variant}" for b in BUGS])
def test_planted_convention_bug_is_named_alone_under_several_seeds(bug):
    for seed in _seeds():
        result = certify_planted(bug, seed)
        assert result.status == "disagree", f"{bug.backend} on {bug.op}, seed {seed}: {result.status} {result.message}"
        assert result.diagnosis == [bug.variant], (
            f"{bug.backend} on {bug.op}, seed {seed}: diagnosis {result.diagnosis}, expected [{bug.variant!r}];"
            f" counterexample {result.counterexample.description}"
        )


def _ceil_mode_case() -> Case:
    # Five pixels, windows of two with stride two: ceil_mode gives three outputs, floor two.
    X = np.array([[[3.0, -1.0, 4.0, 1.0, -5.0]]], np.float32)
    return Case("MaxPool", {"X": X}, {"kernel_shape": [2], "strides": [2], "ceil_mode": 1})


def test_a_wrong_output_shape_is_explained_by_the_variant_that_predicts_it():
    declaration, case = get_declaration("MaxPool"), _ceil_mode_case()
    outputs = planted_pooling.CeilModeIgnored().run(case.model, case.feeds)
    assert declaration.verdict(case, outputs).problem == "shape"
    assert diagnose(declaration, case, outputs) == ["ceil_mode_ignored"]


def test_the_right_shape_with_wrong_values_explains_nothing():
    """A shape is not the whole answer: ceil_mode_ignored predicts [3, 4] in that shape."""
    declaration, case = get_declaration("MaxPool"), _ceil_mode_case()
    assert diagnose(declaration, case, [np.array([[[3.0, 1.0]]], np.float32)]) == []


def test_an_error_first_is_diagnosed_from_the_disagreements_after_it():
    """The shrunk failure is the error, which has no outputs to diagnose; the follow-up search
    meets the disagreements, whose convention is named."""
    backend = planted_pooling.CeilModeIgnoredNoBatches()
    result = certify(get_declaration("MaxPool"), backend, profile_settings("ci", examples=100))
    assert result.status == "error" and "not implemented" in result.message
    assert result.diagnosis == ["ceil_mode_ignored"]


# One pixel and a two-tap kernel: SAME_UPPER pads at the end and the spec gives w[0] * x, while a
# flipped kernel, SAME_LOWER (the SAME modes swapped) and padding at the beginning all give w[1] * x.
AMBIGUOUS = {
    "same_upper_lower_swapped": ({"auto_pad": "SAME_UPPER"}, planted.SameUpperLowerSwapped),
    "pads_begin_end_swapped": ({"pads": [0, 1]}, planted.PadsBeginEndSwapped),
}


@pytest.mark.parametrize("other", sorted(AMBIGUOUS))
@pytest.mark.parametrize("flipped", [True, False], ids=["flipped_kernel", "other"])
def test_two_candidates_that_explain_a_shrunk_case_are_told_apart(other, flipped):
    attributes, other_backend = AMBIGUOUS[other]
    declaration = get_declaration("Conv")
    backend = planted.FlippedKernel() if flipped else other_backend()
    case = Case("Conv", {"X": np.array([[[2.0]]], np.float32), "W": np.array([[[1.0, 3.0]]], np.float32)}, attributes)
    outcome = run_example(declaration, backend, case)
    assert outcome.status == "disagree"
    assert set(diagnose(declaration, case, outcome.outputs)) == {"flipped_kernel", other}
    # As certify diagnoses its shrunk failure: with the search around it, and no excused divergence.
    assert _diagnosis(declaration, backend, _Failure(case, outcome), search_around=()) == (
        ["flipped_kernel"] if flipped else [other])


@pytest.mark.parametrize("op", sorted(declarations()))
def test_the_region_around_a_case_keeps_its_call_and_draws_new_values(op):
    """The longest pin set of ``region_pins`` draws the same call (attributes, shapes, dtypes) with
    other values; every other pin set is one the strategy can honour."""
    declaration, drawn = get_declaration(op), []
    quick = settings(max_examples=3, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                     suppress_health_check=list(HealthCheck))

    @quick
    @given(declaration.cases())
    def anchor(case):
        drawn.append(case)

    anchor()
    case = drawn[-1]
    pins = region_pins(case)
    assert pins[-1] == {}
    nearby = []

    @quick
    @given(declaration.cases(pins=pins[0]))
    def around(other):
        nearby.append(other)

    around()
    for other in nearby:
        assert {k: v for k, v in other.draws.items() if not k.endswith(".seed")} == {
            k: v for k, v in case.draws.items() if not k.endswith(".seed")}
        assert other.attributes == case.attributes
        assert {k: None if v is None else v.shape for k, v in other.inputs.items()} == {
            k: None if v is None else v.shape for k, v in case.inputs.items()}


@pytest.mark.parametrize("bug", BUGS, ids=[f"{b.op}-{b.variant}" for b in BUGS])
def test_a_planted_bugs_variant_explains_every_disagreement_it_causes(bug):
    """What lets the diagnosis keep only the candidates that explain every failing example: the
    right one never fails to explain one (its bounds hold for its own outputs), so the more
    examples, the fewer wrong names and never an empty diagnosis for a declared convention."""
    declaration, backend, disagreements = get_declaration(bug.op), load_backend(bug.backend), []

    @settings(profile_settings("ci", examples=min(4 * settings.default.max_examples, 1000)),
              suppress_health_check=list(HealthCheck))
    @given(declaration.cases())
    def check(case):
        outcome = run_example(declaration, backend, case)
        if outcome.status == "disagree":
            disagreements.append(case)
            assert explains(declaration, case, outcome.outputs, bug.variant), f"{case.describe()}: {outcome.message}"

    check()
    assert disagreements, f"{bug.backend} never disagreed on {bug.op}"


class FlippedKernelBiasDropped(planted.FlippedKernel):
    """Two bugs: the kernel flipped, and the bias dropped (which shows only on a case with a bias)."""

    name = "planted-flipped-kernel-bias-dropped"

    def rewrite(self, inputs, attributes):
        flipped, attributes = super().rewrite(inputs, attributes)
        return flipped[:2], attributes


def test_two_bugs_are_named_by_the_pair_that_explains_every_example():
    """Filtering the first example's single candidates by the others would leave nothing here."""
    declaration, backend = get_declaration("Conv"), FlippedKernelBiasDropped()
    X, W = np.array([[[1.0, 2.0, 3.0]]], np.float32), np.array([[[1.0, -2.0]]], np.float32)
    cases = [Case("Conv", {"X": X, "W": W}), Case("Conv", {"X": X, "W": W, "B": np.array([5.0], np.float32)})]
    examples = [(case, backend.run(case.model, case.feeds)) for case in cases]
    assert diagnose(declaration, *examples[0]) == ["flipped_kernel"]
    assert diagnose_all(declaration, examples) == ["flipped_kernel+bias_ignored"]
