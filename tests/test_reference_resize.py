"""Self-test of the Resize reference: a second implementation with loops, ONNX's own node cases for
both, hand-worked coordinate conventions, the variants, the error bound's exactness claims, and
the errors for invalid calls."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note, settings

import reference
from conformance.backends.graph import node_attributes
from conformance.case import Case
from conformance.ops import get_declaration
from conformance.ops.resize import exact_coordinates, resize_bounds
from reference.resize import resize, resize_axes
from tests import test_onnx_shipped_cases as shipped
from tests.loop_reference_resize import resize_by_loops


@settings(max_examples=150)
@given(case=get_declaration("Resize").cases())
def test_resize_matches_loops_on_certified_cases(case: Case):
    note(f"draws: {dict(case.draws)}")
    arguments = list(case.inputs.values())
    (vectorized,) = reference.evaluate("Resize", arguments, case.attributes)
    by_loops = resize_by_loops(*arguments, **case.attributes)
    assert vectorized.shape == by_loops.shape
    # Both sum the same float64 products (at most 16 taps per axis, 3 axes) in other orders, from
    # coordinates computed by the same formulas: 1e-12 of the largest input leaves a wide margin,
    # while a wrong coordinate or tap moves an element by a sizeable fraction of an input value.
    # (A coordinate an ulp from a nearest-rounding boundary could flip; the drawn cases avoid none,
    # so a flip would show here as a failure to look at, not be hidden.)
    scale = float(np.abs(case.inputs["X"].astype(np.float64)).max(initial=0.0))
    np.testing.assert_allclose(vectorized, by_loops, rtol=1e-12, atol=1e-12 * max(scale, 1e-300))


@pytest.mark.parametrize("model, inputs, outputs", shipped._node_case_params(only={"Resize"}))
def test_loop_oracle_passes_onnx_node_case(model, inputs, outputs):
    (node,) = model.graph.node
    feed = dict(zip([i.name for i in model.graph.input], inputs))
    arguments = [feed.get(name) if name else None for name in node.input]
    actual = resize_by_loops(*arguments, **node_attributes(node))
    shipped.assert_matches_shipped([actual.astype(outputs[0].dtype)], list(outputs))


# --- Hand-worked conventions -----------------------------------------------------------------------

ROW = np.arange(4.0).reshape(1, 1, 4)


def _resize(X=ROW, **attributes):
    scales = attributes.pop("scales", None)
    sizes = attributes.pop("sizes", None)
    return resize(X, None, None if scales is None else np.array(scales, np.float32),
                  None if sizes is None else np.array(sizes, np.int64), **attributes)


def test_half_pixel_align_corners_and_asymmetric_sample_different_points():
    # 4 -> 8: half_pixel samples (x + 0.5) / 2 - 0.5, align_corners x * 3 / 7, asymmetric x / 2.
    half = _resize(scales=[1, 1, 2], mode="linear")
    np.testing.assert_allclose(half.ravel(), np.clip((np.arange(8) + 0.5) / 2 - 0.5, 0, 3))
    corners = _resize(scales=[1, 1, 2], mode="linear", coordinate_transformation_mode="align_corners")
    np.testing.assert_allclose(corners.ravel(), np.arange(8) * 3 / 7)
    asymmetric = _resize(scales=[1, 1, 2], mode="linear", coordinate_transformation_mode="asymmetric")
    np.testing.assert_allclose(asymmetric.ravel(), np.minimum(np.arange(8) / 2, 3))
    named = _resize(scales=[1, 1, 2], mode="linear", variants=["align_corners"])
    np.testing.assert_allclose(named, corners)


def test_nearest_mode_decides_exact_ties():
    # 4 -> 2 with half_pixel: x_original = 2x + 0.5, a tie between 2x and 2x + 1.
    floor_tie = _resize(scales=[1, 1, 0.5])
    ceil_tie = _resize(scales=[1, 1, 0.5], nearest_mode="round_prefer_ceil")
    np.testing.assert_array_equal(floor_tie.ravel(), [0, 2])
    np.testing.assert_array_equal(ceil_tie.ravel(), [1, 3])


def test_scales_keep_the_given_scale_where_in_times_scale_is_fractional():
    # 5 * 0.5 = 2.5 -> 2 outputs; half_pixel samples (x + 0.5) * 2 - 0.5 = 0.5, 2.5 (not with 5 / 2).
    X = np.arange(5.0).reshape(1, 1, 5)
    np.testing.assert_allclose(_resize(X, scales=[1, 1, 0.5], mode="linear").ravel(), [0.5, 2.5])
    from_sizes = _resize(X, scales=[1, 1, 0.5], mode="linear", variants=["scale_from_output_size"])
    np.testing.assert_allclose(from_sizes.ravel(), [0.75, 3.25])


def test_tf_crop_and_resize_extrapolates_outside_the_input():
    Y = resize(ROW, np.array([0.0, 1.5], np.float32), None, np.array([4], np.int64), axes=[2], mode="linear",
               coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=-7.0)
    np.testing.assert_allclose(Y.ravel(), [0, 1.5, 3, -7])


def test_exclude_outside_renormalizes_the_cubic_weights_at_the_edge():
    X = np.array([[[1.0, 5.0, 2.0, 8.0]]])
    clamped = _resize(X, scales=[1, 1, 2], mode="cubic")
    excluded = _resize(X, scales=[1, 1, 2], mode="cubic", exclude_outside=1)
    assert not np.allclose(clamped[..., 0], excluded[..., 0])
    np.testing.assert_allclose(clamped[..., 3:5], excluded[..., 3:5])  # interior outputs agree


def test_antialias_averages_when_downscaling():
    X = np.array([[[0.0, 10.0, 0.0, 10.0, 0.0, 10.0, 0.0, 10.0]]])
    plain = _resize(X, scales=[1, 1, 0.5], mode="linear")
    smooth = _resize(X, scales=[1, 1, 0.5], mode="linear", antialias=1)
    np.testing.assert_allclose(plain.ravel(), [5, 5, 5, 5])
    np.testing.assert_allclose(smooth.ravel()[1:3], [5, 5])
    upscale = _resize(X, scales=[1, 1, 2], mode="linear")
    np.testing.assert_allclose(_resize(X, scales=[1, 1, 2], mode="linear", antialias=1), upscale)


def test_keep_aspect_ratio_policy_scales_every_named_axis_alike():
    X = np.zeros((1, 1, 4, 6))
    assert _resize(X, sizes=[8, 8], axes=[2, 3], keep_aspect_ratio_policy="not_larger").shape == (1, 1, 5, 8)
    assert _resize(X, sizes=[8, 8], axes=[2, 3], keep_aspect_ratio_policy="not_smaller").shape == (1, 1, 8, 12)


def test_power_of_two_scales_have_exact_coordinates_and_others_do_not():
    plans = resize_axes((1, 1, 6), None, np.array([1, 1, 0.5], np.float32), None)
    assert exact_coordinates(plans[2])
    plans = resize_axes((1, 1, 6), None, np.array([1, 1, 0.6], np.float32), None)
    assert not exact_coordinates(plans[2])


def test_bound_accepts_either_side_of_a_rounding_boundary_only_where_coordinates_are_inexact():
    X = np.arange(10.0, dtype=np.float32).reshape(1, 1, 10)
    exact = Case("Resize", {"X": X, "roi": None, "scales": np.array([1, 1, 0.5], np.float32), "sizes": None}, {})
    assert float(np.max(resize_bounds(exact)[0])) == 0.0  # nearest at exact coordinates: exact
    inexact = Case("Resize", {"X": X, "roi": None, "scales": np.array([1, 1, 0.6], np.float32), "sizes": None},
                   {"mode": "linear"})
    # float32 coordinates of a 10-element axis: well below 1e-3 of the values, far below any convention bug
    assert 0 < float(np.max(resize_bounds(inexact)[0])) < 1e-3 * 9


@pytest.mark.parametrize("call, message", [
    (lambda: resize(ROW), "exactly one of scales and sizes"),
    (lambda: _resize(scales=[1, 2]), r"scales has shape \[2\]; \[3\] expected"),
    (lambda: _resize(scales=[1, 1, 2], mode="bicubic"), "mode must be one of"),
    (lambda: _resize(scales=[1, 1, 2], coordinate_transformation_mode="edge"), "coordinate_transformation_mode must"),
    (lambda: _resize(scales=[1, 1, 2], nearest_mode="round"), "nearest_mode must be one of"),
    (lambda: _resize(sizes=[4], axes=[3]), "axes must be distinct and within"),
    (lambda: _resize(sizes=[4], axes=[2], coordinate_transformation_mode="tf_crop_and_resize"), "needs the roi"),
    (lambda: _resize(scales=[1, 1, -2]), "scales must be positive"),
    (lambda: _resize(sizes=[4, 4], axes=[2], keep_aspect_ratio_policy="fit"), r"sizes has shape \[2\]"),
])
def test_invalid_calls_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()
