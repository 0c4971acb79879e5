"""The strategies draw valid cases only, and reach every corner their declarations claim.

The first two tests run on every declared operator; the others check what the convolution
strategies promise (other families test their own promises in their own modules).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from hypothesis import event, given, settings

from conformance.ops import declarations
from conformance.ops.conv import INPUT_BUDGET
from conformance.ops.declaration import corner_reached
from conformance.profiles import profile_settings

DECLARATIONS = list(declarations().values())
CONVOLUTIONS = [declarations()[op] for op in ("Conv", "ConvTranspose")]


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.op_type)
def test_strategy_reaches_every_declared_corner(declaration):
    reached: Counter[str] = Counter()

    @settings(profile_settings("ci", examples=400))
    @given(declaration.cases())
    def draw(case):
        features = declaration.features(case)
        for corner in declaration.corners:
            if corner_reached(corner, features):
                reached[corner] += 1
                event(corner)

    draw()
    missing = [c for c in declaration.corners if not reached[c]]
    assert not missing, f"{declaration.op_type}: 400 draws never reached {missing}"


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.op_type)
def test_every_drawn_case_is_a_valid_onnx_call_the_reference_can_judge(declaration):
    @settings(profile_settings("ci", examples=100))
    @given(declaration.cases())
    def check(case):
        try:
            onnx.checker.check_model(case.model, full_check=True)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
            # Only where the declaration documents that ONNX's checker rejects a valid call.
            features = declaration.features(case)
            if not any(caveat.excuses(features, str(error)) for caveat in declaration.checker_caveats):
                raise
        declaration.expected(case)
        declaration.bounds(case)

    check()


@pytest.mark.parametrize("declaration", CONVOLUTIONS, ids=lambda d: d.op_type)
def test_convolution_cases_are_finite_and_small(declaration):
    @settings(profile_settings("ci", examples=100))
    @given(declaration.cases())
    def check(case):
        outputs = declaration.expected(case)
        assert all(np.isfinite(o).all() for o in outputs), f"non-finite reference output for {case}"
        assert all(o.size > 0 for o in outputs)
        assert case.inputs["X"].size <= 4 * INPUT_BUDGET, f"{case} exceeds the size budget"

    check()


@pytest.mark.parametrize("declaration", CONVOLUTIONS, ids=lambda d: d.op_type)
def test_kernels_are_never_symmetric_so_a_flip_changes_the_answer(declaration):
    @settings(profile_settings("ci", examples=100))
    @given(declaration.cases())
    def check(case):
        W = case.inputs["W"]
        if np.prod(W.shape[2:]) > 1:
            assert declaration.features(case)["asymmetric_kernel"], f"{case} has a mirror-symmetric kernel"

    check()


@pytest.mark.parametrize("declaration", CONVOLUTIONS, ids=lambda d: d.op_type)
def test_draws_are_labelled(declaration):
    @settings(profile_settings("ci", examples=10))
    @given(declaration.cases())
    def check(case):
        for label in ("dtype", "spatial_rank", "auto_pad", "kernel_shape", "X.seed", "X.scale", "W.values"):
            assert label in case.draws, f"draw {label!r} is not recorded"

    check()
