"""What the reductions' and shape operators' strategies promise beyond the generic corner coverage.

- ReduceProd's factors never let a partial product, in any order, leave the normal range (the
  premise of its error bound);
- float16 reductions reduce few enough values that gamma_n stays far below 1 (a meaningful bound);
- tensors stay small; draws are labelled.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from conformance.ops import get_declaration
from conformance.ops.reductions import FLOAT16_BUDGET, INPUT_BUDGET
from conformance.ops.shape import BUDGET
from conformance.profiles import profile_settings
from conformance.tolerance import gamma, unit_roundoff
from reference.reductions import OPERATORS as REDUCTIONS
from reference.reductions import reduced_axes
from reference.shape import OPERATORS as SHAPE_OPERATORS

QUIET = list(HealthCheck)


def test_products_stay_in_the_normal_range_in_any_order():
    """Within every group of factors reduced together, the sum of |log2|x|| over the non-zero
    factors stays below the dtype's exponent range: then every partial product, in any order,
    is a normal number (the premise of ReduceProd's bound gamma_{n-1} * |y|)."""
    declaration = get_declaration("ReduceProd")

    @settings(profile_settings("ci", examples=150), suppress_health_check=QUIET)
    @given(declaration.cases())
    def check(case):
        data = case.inputs["data"]
        if data.dtype.kind != "f" or not data.size:
            return
        given_axes = case.attributes.get("axes", case.inputs.get("axes"))
        axes = reduced_axes(data.shape, given_axes, case.attributes.get("noop_with_empty_axes", 0))
        magnitudes = np.abs(data.astype(np.float64))
        exponents = np.abs(np.log2(np.where(magnitudes == 0, 1.0, magnitudes)))
        widest = float(np.max(np.sum(exponents, axis=axes))) if axes else float(exponents.max())
        info = np.finfo(data.dtype)
        assert widest < min(-np.log2(float(info.tiny)), np.log2(float(info.max))), case.describe()

    check()


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_float16_reductions_keep_gamma_small(op):
    declaration = get_declaration(op)

    @settings(profile_settings("ci", examples=60), suppress_health_check=QUIET)
    @given(declaration.cases())
    def check(case):
        data = case.inputs["data"]
        assert data.size <= (FLOAT16_BUDGET if data.dtype == np.float16 else INPUT_BUDGET), case.describe()
        if data.dtype == np.float16:
            assert gamma(data.size + 2, unit_roundoff(data.dtype)) < 0.15
        for label in ("opset", "dtype", "rank", "keepdims", "data.seed"):
            assert label in case.draws, f"draw {label!r} is not recorded"

    check()


@pytest.mark.parametrize("op", sorted(SHAPE_OPERATORS))
def test_shape_cases_are_small_and_labelled(op):
    declaration = get_declaration(op)

    @settings(profile_settings("ci", examples=40), suppress_health_check=QUIET)
    @given(declaration.cases())
    def check(case):
        assert sum(a.size for a in case.inputs.values() if a is not None) <= 2 * BUDGET, case.describe()
        assert "opset" in case.draws and "dtype" in case.draws

    check()
