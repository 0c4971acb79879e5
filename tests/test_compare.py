"""The comparison and the error-bound model, on hand-made outputs whose verdicts are known."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.case import Case
from conformance.compare import compare, ulp_spacing
from conformance.ops import get_declaration
from conformance.tolerance import gamma, unit_roundoff

F32 = np.dtype(np.float32)


def judge(got, expected, bound, dtype=F32):
    return compare([np.asarray(got, dtype=dtype)], [np.asarray(expected, dtype=np.float64)], [bound], [dtype], ["Y"])


def test_exact_output_has_ratio_and_ulp_zero():
    verdict = judge([1.0, 2.0], [1.0, 2.0], 1e-7)
    assert verdict.ok and verdict.max_error_ratio == 0 and verdict.max_ulp == 0


def test_ratio_and_ulp_are_measured_against_the_bound_and_the_float32_spacing():
    expected = np.array([1.0, 3.0])
    got = expected + np.array([0, np.spacing(np.float32(3.0))])
    verdict = judge(got, expected, 3e-7)  # a bound below 2u * 3: ULPs of the expected value
    assert verdict.ok
    assert verdict.max_ulp == pytest.approx(1.0) and verdict.worst["ulp"] == pytest.approx(1.0)
    assert verdict.max_error_ratio == pytest.approx(np.spacing(np.float32(3.0)) / 3e-7)
    assert verdict.worst["index"] == [1]


def test_ulps_near_zero_are_measured_at_the_terms_scale_not_the_smallest_subnormal():
    # 0 from cancelling terms near 1: an error of 1e-7 is about 1 ULP of 1, not 1e38 ULP of 0.
    got, expected = np.array([1e-7], np.float32), np.array([0.0])
    with_scale = compare([got], [expected], [1e-6], [F32], ["Y"], scales=[np.array([1.0])])
    assert with_scale.ok and with_scale.max_ulp == pytest.approx(float(np.float32(1e-7)) / 2**-23)
    # Without a scale, the one the bound implies (bound / 2u = 8.4): ULPs of 8, never more than 2x the ratio.
    implied = judge(got, expected, 1e-6)
    assert implied.max_ulp == pytest.approx(float(np.float32(1e-7)) / 2**-20)
    assert implied.max_ulp <= 2 * implied.max_error_ratio
    # A subnormal expected value within a floor of tiny: a quarter of the spacing that floor implies.
    tiny = float(np.finfo(F32).tiny)
    assert judge([0.0], [tiny / 4], tiny).max_ulp == pytest.approx(0.25)


def test_error_beyond_the_bound_fails_and_says_where():
    verdict = judge([[1.0, 2.5]], [[1.0, 2.0]], 0.1)
    assert not verdict.ok and verdict.problem == "bound"
    assert verdict.max_error_ratio == pytest.approx(5.0)
    assert "Y[0, 1]" in verdict.message and "5x the bound" in verdict.message


@pytest.mark.parametrize(
    "got, expected, problem",
    [
        (np.zeros((2, 3), np.float32), np.zeros((3, 2)), "shape"),
        (np.zeros(3, np.float64), np.zeros(3), "dtype"),
    ],
)
def test_shape_and_dtype_must_match_exactly(got, expected, problem):
    verdict = compare([got], [expected], [0.0], [F32], ["Y"])
    assert not verdict.ok and verdict.problem == problem


def test_the_number_of_outputs_must_match():
    verdict = compare([], [np.zeros(1)], [0.0], [F32])
    assert not verdict.ok and verdict.problem == "outputs"


def test_nan_positions_must_match():
    assert judge([np.nan, 1.0], [np.nan, 1.0], 0.0).ok
    verdict = judge([np.nan, 1.0], [1.0, 1.0], 1.0)
    assert not verdict.ok and verdict.problem == "nan"
    assert not judge([1.0], [np.nan], 1.0).ok


def test_infinities_must_match_in_position_and_sign():
    assert judge([np.inf, -np.inf], [np.inf, -np.inf], 0.0).ok
    verdict = judge([np.inf], [-np.inf], 0.0)
    assert not verdict.ok and verdict.problem == "inf"
    assert not judge([np.inf], [1.0], 1e30).ok


def test_overflow_of_the_rounded_reference_to_infinity_is_correct():
    # 3.5e38 is finite in float64 and rounds to inf in float32: a backend returning inf is right.
    assert judge([np.inf], [3.5e38], 1e30).ok


def test_integer_outputs_must_be_exact():
    int64 = np.dtype(np.int64)
    assert compare([np.array([1, 2])], [np.array([1, 2])], [0.0], [int64]).ok
    verdict = compare([np.array([1, 3])], [np.array([1, 2])], [0.0], [int64], ["I"])
    assert not verdict.ok and "I[1]" in verdict.message


def test_unit_roundoff_and_gamma():
    assert unit_roundoff(np.float32) == 2.0**-24
    assert unit_roundoff(np.float16) == 2.0**-11
    assert unit_roundoff(np.float64) == 2.0**-53
    assert gamma(9, 2.0**-24) == pytest.approx(9 * 2.0**-24 / (1 - 9 * 2.0**-24))
    assert gamma(4096, 2.0**-11) == float("inf")


def test_conv_bound_is_gamma_n_times_componentwise_plus_normwise_magnitude():
    # One 3x3 window of ones on a 3x3 image of ones, plus a bias of -2: n = 9 products + 1 bias.
    X = np.ones((1, 1, 3, 3), np.float32)
    W = np.ones((1, 1, 3, 3), np.float32)
    B = np.array([-2.0], np.float32)
    case = Case("Conv", {"X": X, "W": W, "B": B}, {})
    (bound,) = get_declaration("Conv").bounds(case)
    n, u = 10, 2.0**-24
    componentwise, normwise = 9 + 2, 9 * 1  # sum|w*x| + |b|, and ||w||_1 * max|x|
    assert bound.shape == (1, 1, 1, 1)
    assert bound.item() == pytest.approx(gamma(n, u) * (componentwise + normwise) + 2 * n * np.finfo(np.float32).tiny)


def test_the_bound_admits_every_correctly_rounded_result():
    """A float64 result rounded once to float32 errs by at most u|y| <= gamma_n * sum|w*x|."""
    rng = np.random.default_rng(7)
    declaration = get_declaration("Conv")
    for _ in range(50):
        X = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
        W = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
        case = Case("Conv", {"X": X, "W": W, "B": None}, {"pads": [1, 0, 0, 1]})
        (expected,) = declaration.expected(case)
        verdict = compare([expected.astype(np.float32)], [expected], declaration.bounds(case), [F32])
        assert verdict.ok and verdict.max_error_ratio <= 1


def test_an_element_without_a_finite_bound_is_not_judged_but_counted():
    """An undetermined element passes whatever it holds (NaN, inf, anything) and is counted apart."""
    bound = np.array([1e-6, np.inf, np.inf])
    verdict = judge([1.0, np.nan, -np.inf], [1.0, 0.0, 0.0], bound)
    assert verdict.ok and verdict.elements == 3 and verdict.judged_elements == 1 and verdict.judged
    nothing = judge([5.0, 7.0], [1.0, 2.0], np.inf)
    assert nothing.ok and nothing.judged_elements == 0 and not nothing.judged
    empty = judge(np.zeros((2, 0)), np.zeros((2, 0)), np.inf)
    assert empty.ok and empty.elements == 0 and empty.judged  # the shape is the whole answer
    wrong = judge([1.5, np.nan], [1.0, 0.0], np.array([1e-6, np.inf]))
    assert not wrong.ok and wrong.problem == "bound" and wrong.judged  # the finite one still decides


def test_integer_outputs_are_judged_exactly_element_by_element():
    verdict = compare([np.array([1, 2], dtype=np.int64)], [np.array([1, 2])], [0.0], [np.dtype(np.int64)], ["Y"])
    assert verdict.ok and verdict.elements == verdict.judged_elements == 2


def test_a_float64_case_is_judged_with_the_references_own_rounding_in_the_bound():
    """issue 17: ReduceProd-11 of this row, checked with exact rationals. The float64 reference is
    1.14 ulp from the exact product, TensorFlow 0.86 ulp on the other side: within the gamma_3 bound
    of a correct backend, yet 1.21 times that bound from the reference. Only with the reference's
    own rounding in the bound does the correct backend agree."""
    from fractions import Fraction

    from conformance.tolerance import with_reference_error

    row = [-0.14492187003786164, 5.356513297499327, -0.6473809195075978, 8.799179255610706]
    exact = Fraction(1)
    for value in row:
        exact *= Fraction(value)
    backend = 4.421994286701716  # what TensorFlow returns
    declaration = get_declaration("ReduceProd")
    case = Case("ReduceProd", {"data": np.array(row).reshape(1, 1, 1, 4)}, {"axes": [3]}, opset=11)
    (reference,) = declaration.expected(case)
    assert abs(Fraction(backend) - exact) <= Fraction(gamma(3, 2.0**-53)) * abs(exact)  # a correct backend
    (backend_bound,) = declaration.tolerance.bounds(case, ())
    assert abs(backend - reference.item()) > backend_bound.item()  # the reference's own error alone would blame it
    (bound,) = with_reference_error(declaration.tolerance, case, [backend_bound])
    assert declaration.bounds(case)[0] == pytest.approx(bound) and bound == pytest.approx(2 * backend_bound)
    verdict = declaration.verdict(case, [np.array(backend).reshape(1, 1, 1, 1)])
    assert verdict.ok, verdict.message
    # float32 data keeps its bound: the float64 reference is some 2^29 times more precise there.
    single = Case("ReduceProd", {"data": np.array(row, np.float32).reshape(1, 1, 1, 4)}, {"axes": [3]}, opset=11)
    assert declaration.bounds(single)[0] == pytest.approx(declaration.tolerance.bounds(single, ())[0])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_ulp_spacing_is_the_spacing_of_the_dtypes_numbers(dtype):
    info = np.finfo(dtype)
    rng = np.random.default_rng(0)
    exponents = rng.integers(int(info.minexp) - 3, int(info.maxexp) - 1, 2000)
    magnitudes = np.concatenate([np.ldexp(rng.uniform(1, 2, 2000), exponents),  # normal and below
                                 np.ldexp(1.0, exponents),  # exact powers of two
                                 [0.0, float(info.tiny), float(info.smallest_subnormal)]])
    with np.errstate(divide="ignore"):
        floor_log2 = np.floor(np.log2(np.maximum(magnitudes, float(info.tiny))))
    np.testing.assert_array_equal(ulp_spacing(magnitudes, dtype), np.ldexp(float(info.eps), floor_log2.astype(int)))
    normal = magnitudes[(magnitudes >= info.tiny) & (magnitudes < info.max)].astype(dtype)
    np.testing.assert_array_equal(ulp_spacing(normal.astype(np.float64), dtype),
                                  np.spacing(np.abs(normal)).astype(np.float64))  # NumPy's own spacing


def _element_by_element(got, want, bound, dtype, scale=None):
    """The comparison's definitions, one element at a time (the finite case): each element's error
    ratio (error / bound, 0 for an exact answer or an infinite bound) and its ULPs (error over the
    dtype's spacing at the larger of |expected| and the terms' scale, the bound's implied one if none)."""
    eps, tiny = float(np.finfo(dtype).eps), float(np.finfo(dtype).tiny)
    ratios, ulps, judged, largest = [], [], 0, 0.0
    for position in np.ndindex(want.shape) if want.size else ():
        error, b = abs(float(got[position]) - float(want[position])), float(bound[position])
        decided = np.isfinite(b)
        judged += bool(decided)
        ratios.append(0.0 if not decided or error == 0 else (error / b if b > 0 else np.inf))
        implied = b / eps if scale is None else float(scale[position])
        magnitude = max(abs(float(want[position])), implied if np.isfinite(implied) else 0.0, tiny)
        spacing = 2.0 ** (np.frexp(magnitude)[1] - 1) * eps
        with np.errstate(over="ignore"):
            ulps.append(error / spacing if decided else 0.0)
        largest = max(largest, error if decided else 0.0)
    return ratios, ulps, judged, largest


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_the_vectorized_comparison_matches_the_element_by_element_definition(data):
    dtype = data.draw(st.sampled_from([np.float16, np.float32, np.float64]), label="dtype")
    shape = data.draw(st.lists(st.integers(0, 4), max_size=3).map(tuple), label="shape")
    finite = st.floats(-1e4, 1e4, allow_nan=False, width=16)
    want = np.array(data.draw(st.lists(finite, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))),
                              label="expected"), np.float64).reshape(shape)
    noise = data.draw(st.sampled_from([0.0, 1e-6, 1e-3, 1.0]), label="noise")
    got = (want * (1 + noise) + noise).astype(dtype)
    bounds = st.one_of(st.floats(0, 1e-2), st.just(0.0), st.just(np.inf), st.just(np.nan))
    bound = np.array(data.draw(st.lists(bounds, min_size=want.size, max_size=want.size), label="bound"),
                     np.float64).reshape(shape)
    scale = data.draw(st.none() | st.just(np.abs(want) + 1.0), label="scale")
    verdict = compare([got], [want], [bound], [np.dtype(dtype)], ["Y"], scales=None if scale is None else [scale])
    ratios, ulps, judged, largest = _element_by_element(got, want, bound, dtype, scale)
    assert verdict.judged_elements == judged and verdict.elements == want.size
    assert verdict.max_error_ratio == pytest.approx(max(ratios, default=0.0)), (ratios, verdict)
    assert verdict.ok == (max(ratios, default=0.0) <= 1)
    if verdict.ok:
        assert verdict.max_ulp == pytest.approx(max(ulps, default=0.0)), (ulps, verdict)
        assert verdict.max_abs_error == pytest.approx(largest)
