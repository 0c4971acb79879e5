"""The strategies draw valid cases only, and reach every corner their declarations claim.

The first two tests run on every declared operator; the others check what the convolution
strategies promise (other families test their own promises in their own modules), and the SAME
corner that Conv and pooling aim at together (``conformance.strategies.windows``).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from hypothesis import event, given, settings

from conformance.certify import drawn_cases
from conformance.ops import declarations
from conformance.ops.conv import INPUT_BUDGET
from conformance.ops.declaration import corner_reached
from conformance.profiles import profile_settings
from conformance.strategies.windows import SAME_WINDOW_SHIFT

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


# --- the SAME corner: a stride exceeding the kernel by 2 or more, in 3-D ---------------------------

WINDOW_SHIFTERS = [declarations()[op] for op in ("Conv", "MaxPool", "AveragePool", "LpPool")]


def same_shift_3d(case, features) -> bool:
    """3-D SAME with a total padding of -2 or less on some axis and no dilations."""
    return (features["spatial_rank"] == 3 and features["auto_pad"].startswith("SAME")
            and features["same_window_shift"] and max(case.attributes.get("dilations", [1])) == 1)


def eigen_shifts(case, features) -> bool:
    """Whether TensorFlow's Eigen kernels shift this case's windows where clamping SAME's padding
    would not: 3-D, SAME_UPPER (TensorFlow's own SAME), a total padding of -2 or less, no dilations;
    for AveragePool, padding left out of the divisor on another axis (the average TensorFlow's own SAME
    computes, which its lowering uses only there). LpPool's lowering pads by itself: never."""
    shifts = same_shift_3d(case, features) and features["auto_pad"] == "SAME_UPPER"
    if case.op_type == "AveragePool":
        return shifts and features["count_include_pad"] == 0 and features["padded"]
    return shifts and case.op_type != "LpPool"


@pytest.mark.parametrize("declaration", WINDOW_SHIFTERS, ids=lambda d: d.op_type)
def test_a_ci_sized_draw_meets_the_3d_same_corner_where_tensorflows_eigen_kernels_shift(declaration):
    # The cases the ci profile's search draws first (derandomized from the operator's name, as certify's is).
    cases = drawn_cases(declaration.cases(), 25, declaration.op_type)
    features = [declaration.features(case) for case in cases]
    assert any(same_shift_3d(c, f) for c, f in zip(cases, features)), \
        f"{declaration.op_type}: 25 ci draws never reach 3-D SAME with a total padding of -2 or less"
    if declaration.op_type != "LpPool":
        assert any(eigen_shifts(c, f) for c, f in zip(cases, features)), \
            f"{declaration.op_type}: 25 ci draws never reach a case whose windows TensorFlow's Eigen kernels shift"


@pytest.mark.parametrize("declaration", WINDOW_SHIFTERS, ids=lambda d: d.op_type)
def test_every_case_aimed_at_the_same_corner_is_in_it_and_the_rest_of_the_space_is_drawn_too(declaration):
    regions: Counter[str] = Counter()

    @settings(profile_settings("ci", examples=200))
    @given(declaration.cases())
    def check(case):
        regions[case.draws["region"]] += 1
        if case.draws["region"] == SAME_WINDOW_SHIFT:
            features = declaration.features(case)
            assert features["spatial_rank"] == 3 and features["auto_pad"].startswith("SAME"), case
            assert features["same_window_shift"] and features["same_raw_total_padding"] <= -2, case
            assert max(case.attributes.get("dilations", [1])) == 1, case

    check()
    assert 0 < regions[SAME_WINDOW_SHIFT] < regions["anywhere"], regions
