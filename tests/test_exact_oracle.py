"""A backend that returns the exact result rounded once must agree on every operator and float dtype.

This tests the bounds against the best answer there is (``tests/exact_oracle.py``): a bound that
leaves out half an ulp of the output's own rounding fails here on some drawn case. On float64
data a second benign backend places a correct backend's error on the far side of the exact result
from the reference: a bound that leaves out the float64 reference's own rounding (issue 17's
ReduceProd false alarm) fails there. It also tests the
oracle: that it rounds as IEEE does, that it is more precise than float64, and that the loop
references it runs reach math's functions only through ``tests.loop_numbers``.

The default suite draws a few cases per operator and dtype (a fifth of the profile's examples);
``--hypothesis-profile=thorough`` draws 200.
"""

from __future__ import annotations

import ast
import dataclasses
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference
from conformance.case import Case
from conformance.certify import run_example
from conformance.ops import OpDeclaration, get_declaration
from conformance.ops import declaration as declaration_module
from conformance.profiles import profile_settings
from tests.exact_oracle import (
    DIGITS,
    ExactlyRounded,
    OnTheFarSide,
    exact_outputs,
    round_once,
)

FLOATS = ("float16", "float32", "float64")
QUIET = list(HealthCheck)


def assert_agrees(declaration: OpDeclaration, dtype: str, examples: int, backend=None) -> int:
    """Judge ``backend`` (``ExactlyRounded`` by default) on ``declaration``'s cases of ``dtype``;
    returns how many were judged, all agreeing."""
    backend, judged = backend or ExactlyRounded(), []

    @settings(profile_settings("ci", examples=examples), suppress_health_check=QUIET)
    @given(declaration.cases(pins={"dtype": dtype}))
    def check(case):
        outcome = run_example(declaration, backend, case)
        assert outcome.status == "agree", (
            f"{backend.name}'s result of {case.describe()} is judged {outcome.status}: {outcome.message}")
        judged.append(case)

    check()
    return len(judged)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", sorted(reference.OPERATORS))
def test_the_exactly_rounded_result_agrees(op, dtype):
    examples = max(3, settings.default.max_examples // 5)
    assert assert_agrees(get_declaration(op), dtype, examples) >= 3


@pytest.mark.parametrize("op", sorted(reference.OPERATORS))
def test_a_correct_float64_error_on_the_far_side_of_the_reference_agrees(op):
    examples = max(3, settings.default.max_examples // 5)
    assert assert_agrees(get_declaration(op), "float64", examples, OnTheFarSide()) >= 3


# --- the check can fail ------------------------------------------------------------------------


class _WithoutOutputRounding:
    """A planted tolerance that forgets the output's own rounding: every bound zero."""

    def __init__(self, tolerance):
        self._tolerance = tolerance

    def __getattr__(self, name):
        return getattr(self._tolerance, name)

    def bounds(self, case, variants):
        return [np.zeros_like(np.asarray(b, dtype=np.float64)) for b in self._tolerance.bounds(case, variants)]


def test_a_bound_without_the_outputs_own_rounding_fails():
    declaration = get_declaration("Exp")
    forgetful = dataclasses.replace(declaration, tolerance=_WithoutOutputRounding(declaration.tolerance))
    with pytest.raises(AssertionError, match="benign-exactly-rounded's result of Exp"):
        assert_agrees(forgetful, "float32", 10)


def test_a_float64_bound_without_the_references_own_error_fails(monkeypatch):
    """Issue 17's false alarm, planted back: float64 bounds that take the reference as exact."""
    monkeypatch.setattr(declaration_module, "with_reference_error", lambda tolerance, case, bounds: bounds)
    with pytest.raises(AssertionError, match="benign-on-the-far-side's result of ReduceProd"):
        assert_agrees(get_declaration("ReduceProd"), "float64", 100, OnTheFarSide())


# --- the oracle itself -------------------------------------------------------------------------


@settings(profile_settings("ci", examples=300))
@given(st.floats(allow_nan=False, width=64), st.sampled_from([np.float16, np.float32]))
def test_rounding_once_is_ieee_round_to_nearest_even(value, dtype):
    """NumPy's float64 -> float16/32 conversion is correctly rounded (subnormals, ties and overflow
    included): from an exact float64 value, round_once must give the very same number."""
    with np.errstate(over="ignore"):
        expected = dtype(value)
    with mpmath.workdps(DIGITS):
        got = round_once(mpmath.mpf(value), dtype)
    assert got.dtype == np.dtype(dtype)
    assert got.tobytes() == expected.tobytes() or (got == expected == 0), (value, got, expected)


def test_rounding_once_does_not_round_twice():
    # 1 + 2**-24 + 2**-60 rounds up to 1 + 2**-23 in float32; rounded to float64 first, it becomes
    # the tie 1 + 2**-24, which rounds to even: 1.
    with mpmath.workdps(DIGITS):
        value = 1 + mpmath.mpf(2) ** -24 + mpmath.mpf(2) ** -60
        assert round_once(value, np.float32) == np.float32(1 + 2.0**-23)
        assert np.float32(float(value)) == np.float32(1)


def test_the_oracle_is_more_precise_than_the_float64_reference():
    """issue 17's ReduceProd row: the oracle gives the exact rational product, correctly rounded,
    where the float64 reference is 1.14 ulp away."""
    row = [-0.14492187003786164, 5.356513297499327, -0.6473809195075978, 8.799179255610706]
    case = Case("ReduceProd", {"data": np.array(row).reshape(1, 1, 1, 4)}, {"axes": [3]}, opset=11)
    exact = Fraction(1)
    for value in row:
        exact *= Fraction(value)
    (oracle,) = exact_outputs(case)
    (float64_reference,) = get_declaration("ReduceProd").expected(case)
    assert oracle.item() == float(exact)  # Fraction -> float rounds correctly
    assert float64_reference.item() != float(exact)


def test_the_oracle_computes_transcendental_functions_beyond_float64():
    case = Case("Exp", {"input": np.array([0.5, -3.25, 10.0])})
    (oracle,) = exact_outputs(case)
    with mpmath.workdps(50):
        assert [float(mpmath.exp(v)) for v in (0.5, -3.25, 10.0)] == oracle.tolist()


LOOP_REFERENCES = sorted(Path(__file__).parent.glob("loop_*.py"))
# math.prod multiplies with *, which keeps an mpf; these convert it to a float first.
PRECISION_LOSING = {"exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "tanh", "erf", "erfc", "fsum", "pi", "e", "pow"}


@pytest.mark.parametrize("path", [p for p in LOOP_REFERENCES if p.name != "loop_numbers.py"], ids=lambda p: p.name)
def test_loop_references_reach_math_only_through_loop_numbers(path):
    """``math.exp`` of an mpf returns a float: one such call would quietly make the oracle a float64
    one, and every bound would look right. The loop references take these from tests.loop_numbers."""
    tree = ast.parse(path.read_text())
    calls = [f"line {node.lineno}: math.{node.attr}" for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "math"
             and node.attr in PRECISION_LOSING]
    assert not calls, f"{path.name} rounds to float64 through {calls}"
