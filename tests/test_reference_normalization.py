"""Self-test of the normalization reference: against loops, by hand, against ONNX's shipped data.

``reference.normalization`` is vectorized; ``tests.loop_normalization`` computes the same operators
one group and one element at a time from the ONNX text. The two are compared on the cases the
suite certifies with; then the conventions that differ in the wild are checked by hand on both
(even LRN windows, alpha / size, momentum, the population variance, GroupNormalization 18 and 21,
MeanVarianceNormalization's 1e-9); then the variants are checked against hand-made numbers; then
the presence of ONNX's own test data for the family (tests/test_onnx_shipped_cases.py runs it).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given, note, settings

import reference
from conformance.case import Case
from conformance.ops import get_declaration
from conformance.profiles import profile_settings
from reference.normalization import (
    batch_normalization,
    group_normalization,
    lp_normalization,
    lrn,
    lrn_square_sum,
    mean_variance_normalization,
)
from tests.loop_normalization import BY_LOOPS
from tests.test_onnx_shipped_cases import data_set_directories, data_set_id, node_cases, op_types

FAMILY = tuple(BY_LOOPS)


# --- the cross-check on the certified case space ----------------------------------------------


def assert_reference_matches_loops(case: Case) -> None:
    note(f"draws: {dict(case.draws)}")
    vectorized = reference.evaluate(case.op_type, list(case.inputs.values()), case.attributes,
                                    opset=case.opset, output_count=len(case.outputs))
    extra = {k: v for k, v in (("opset", case.opset), ("output_count", len(case.outputs)))
             if k in BY_LOOPS[case.op_type].__code__.co_varnames}
    by_loops = BY_LOOPS[case.op_type](*case.inputs.values(), **case.attributes, **extra)
    by_loops = by_loops if isinstance(by_loops, tuple) else (by_loops,)
    for got, want in zip(vectorized, by_loops[: len(case.outputs)]):
        assert got.dtype == np.float64 and got.shape == want.shape
        # Both compute in float64, in different orders (NumPy's pairwise sums, math.fsum). Normalized
        # values have magnitude ~1 and lose at most n * 2**-53 * (|mean| / std) to the centering:
        # below 1e-10 for the drawn sizes (n <= 4096) and means (<= 1e3 std). A wrong window, axis or
        # convention moves them by 1e-4 or more.
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * max(1.0, float(np.abs(want).max(initial=0))))


@pytest.mark.parametrize("op", FAMILY)
def test_reference_matches_loops_on_certified_cases(op):
    @settings(profile_settings("ci", examples=60))
    @given(get_declaration(op).cases())
    def check(case):
        assert_reference_matches_loops(case)

    check()


# --- conventions by hand, on both implementations ---------------------------------------------

LRNS = pytest.mark.parametrize("lrn_fn", [lrn, BY_LOOPS["LRN"]], ids=["vectorized", "loops"])


@LRNS
def test_lrn_even_window_reaches_one_channel_more_after_than_before(lrn_fn):
    """size 2: the window of channel c is [c, c + 1] (floor((2-1)/2) = 0 before, ceil((2-1)/2) = 1 after)."""
    X = np.zeros((1, 4, 1, 1))
    X[0, 2] = 1.0
    alpha, beta, bias, size = 2.0, 1.0, 1.0, 2
    Y = lrn_fn(X, size=size, alpha=alpha, beta=beta, bias=bias)
    # Only channel 2 is nonzero; its own window [2, 3] holds its square: 1 / (1 + 2/2 * 1).
    np.testing.assert_allclose(Y[0, :, 0, 0], [0, 0, 0.5, 0])
    X[0, 3] = 1.0  # channel 2's window now holds two squares, channel 3's one (clipped at the end)
    Y = lrn_fn(X, size=size, alpha=alpha, beta=beta, bias=bias)
    np.testing.assert_allclose(Y[0, :, 0, 0], [0, 0, 1 / 3, 0.5])


def test_lrn_window_placement_variant_mirrors_even_windows():
    X = np.zeros((1, 4, 1))
    X[0, 2] = 1.0
    onnx_sums = lrn_square_sum(X, 2)[0, :, 0]
    torch_sums = lrn_square_sum(X, 2, frozenset({"window_torch_even"}))[0, :, 0]
    np.testing.assert_array_equal(onnx_sums, [0, 1, 1, 0])  # channels whose window [c, c+1] holds channel 2
    np.testing.assert_array_equal(torch_sums, [0, 0, 1, 1])  # PyTorch's [c-1, c]
    np.testing.assert_array_equal(lrn_square_sum(X, 3), lrn_square_sum(X, 3, frozenset({"window_torch_even"})))


@LRNS
def test_lrn_divides_alpha_by_size(lrn_fn):
    X = np.full((1, 1, 1), 2.0)
    alpha = float(np.float32(0.3))
    y = lrn_fn(X, size=3, alpha=alpha, beta=0.5, bias=1.0)
    np.testing.assert_allclose(y, 2.0 / np.sqrt(1 + alpha / 3 * 4))
    tf_style = lrn(X, size=3, alpha=alpha, beta=0.5, bias=1.0, variants=("alpha_not_divided_by_size",))
    np.testing.assert_allclose(tf_style, 2.0 / np.sqrt(1 + alpha * 4))


BATCH_NORMS = pytest.mark.parametrize("bn", [batch_normalization, BY_LOOPS["BatchNormalization"]],
                                      ids=["vectorized", "loops"])


@BATCH_NORMS
def test_batch_norm_training_uses_population_variance_and_onnx_momentum(bn):
    X = np.array([[0.0], [2.0]])
    one = np.ones(1)
    momentum, epsilon = float(np.float32(0.9)), float(np.float32(1e-5))
    Y, running_mean, running_var = bn(X, one, np.zeros(1), np.array([10.0]), np.array([3.0]),
                                      epsilon=epsilon, momentum=momentum, training_mode=1, opset=15, output_count=3)
    # batch mean 1, population variance 1 (the sample variance would be 2)
    np.testing.assert_allclose(Y[:, 0], [-1 / np.sqrt(1 + epsilon), 1 / np.sqrt(1 + epsilon)])
    np.testing.assert_allclose(running_mean, [10 * momentum + 1 * (1 - momentum)])
    np.testing.assert_allclose(running_var, [3 * momentum + 1 * (1 - momentum)])


@BATCH_NORMS
def test_batch_norm_9_trains_when_it_lists_five_outputs(bn):
    X = np.array([[0.0], [2.0]])
    one, zero = np.ones(1), np.zeros(1)
    (inference,) = bn(X, one, zero, np.array([10.0]), one, opset=9, output_count=1)
    np.testing.assert_allclose(inference[:, 0], (np.array([0, 2]) - 10) / np.sqrt(1 + np.float32(1e-5)), rtol=1e-7)
    *_, saved_mean, saved_var = bn(X, one, zero, np.array([10.0]), one, opset=9, output_count=5)
    np.testing.assert_allclose([saved_mean[0], saved_var[0]], [1.0, 1.0])


@BATCH_NORMS
def test_batch_norm_6_trains_unless_is_test(bn):
    # Opset 6 says the mode with is_test (default 0: training, five outputs), not with its outputs.
    X = np.array([[0.0], [2.0]])
    one, zero = np.ones(1), np.zeros(1)
    (inference,) = bn(X, one, zero, np.array([10.0]), one, is_test=1, opset=6, output_count=1)
    np.testing.assert_allclose(inference[:, 0], (np.array([0, 2]) - 10) / np.sqrt(1 + np.float32(1e-5)), rtol=1e-7)
    Y, *_, saved_mean, saved_var = bn(X, one, zero, np.array([10.0]), one, opset=6, output_count=5)
    np.testing.assert_allclose([saved_mean[0], saved_var[0]], [1.0, 1.0])
    np.testing.assert_allclose(Y[:, 0], [-1 / np.sqrt(1 + np.float32(1e-5)), 1 / np.sqrt(1 + np.float32(1e-5))],
                               rtol=1e-7)


def test_batch_norm_variants_by_hand():
    X = np.array([[0.0], [2.0]])
    args = (X, np.ones(1), np.zeros(1), np.array([10.0]), np.array([3.0]))
    momentum, epsilon = float(np.float32(0.9)), float(np.float32(1e-5))
    kwargs = dict(epsilon=epsilon, momentum=momentum, training_mode=1, opset=15, output_count=3)
    Y, rm, rv = batch_normalization(*args, **kwargs, variants=("momentum_complement",))
    np.testing.assert_allclose([rm[0], rv[0]], [10 * (1 - momentum) + momentum, 3 * (1 - momentum) + momentum])
    Y, rm, rv = batch_normalization(*args, **kwargs, variants=("unbiased_batch_variance",))
    np.testing.assert_allclose(Y[1, 0], 1 / np.sqrt(2 + epsilon))
    np.testing.assert_allclose(rv[0], 3 * momentum + 2 * (1 - momentum))
    Y, rm, rv = batch_normalization(*args, **kwargs, variants=("unbiased_running_variance",))
    np.testing.assert_allclose([Y[1, 0], rv[0]], [1 / np.sqrt(1 + epsilon), 3 * momentum + 2 * (1 - momentum)])
    Y, = batch_normalization(*args, epsilon=epsilon, variants=("eps_outside_sqrt",))
    np.testing.assert_allclose(Y[:, 0], (np.array([0, 2]) - 10) / (np.sqrt(3) + epsilon))
    *_, saved_var = batch_normalization(*args, epsilon=epsilon, opset=9, output_count=5, variants=("saved_inv_std",))
    np.testing.assert_allclose(saved_var, [1 / np.sqrt(1 + epsilon)])


@pytest.mark.parametrize("gn", [group_normalization, BY_LOOPS["GroupNormalization"]], ids=["vectorized", "loops"])
def test_group_norm_scale_per_group_at_18_and_per_channel_at_21(gn):
    X = np.array([[[1.0], [3.0], [5.0], [7.0]]])  # one image, 4 channels, 2 groups of 2
    z = np.array([-1.0, 1.0, -1.0, 1.0]) / np.sqrt(1 + np.float32(1e-5))
    Y18 = gn(X, np.array([2.0, 3.0]), np.array([0.0, 10.0]), num_groups=2, opset=18)
    np.testing.assert_allclose(Y18[0, :, 0], z * [2, 2, 3, 3] + [0, 0, 10, 10])
    Y21 = gn(X, np.array([1.0, 2.0, 3.0, 4.0]), np.zeros(4), num_groups=2, opset=21)
    np.testing.assert_allclose(Y21[0, :, 0], z * [1, 2, 3, 4])


def test_mean_variance_normalization_adds_1e_9_to_the_standard_deviation():
    constant = np.full((2, 1, 1, 3), 5.0)
    np.testing.assert_array_equal(mean_variance_normalization(constant, axes=[0, 2, 3]), np.zeros_like(constant))
    X = np.array([[1.0], [1.0 + 2e-9]])  # std 1e-9: the constant halves the output
    np.testing.assert_allclose(mean_variance_normalization(X, axes=[0])[:, 0], [-0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(mean_variance_normalization(X, axes=[0], variants=("std_without_epsilon",))[:, 0],
                               [-1, 1], rtol=1e-6)


def test_lp_normalization_uses_absolute_values_and_keeps_zero_vectors():
    X = np.array([[1.0, -3.0], [0.0, 0.0]])
    np.testing.assert_allclose(lp_normalization(X, axis=1, p=1), [[0.25, -0.75], [0, 0]])
    np.testing.assert_allclose(lp_normalization(X, axis=1, p=2), [[1 / np.sqrt(10), -3 / np.sqrt(10)], [0, 0]])


def test_float_attributes_are_read_as_float32():
    """The model stores epsilon as a 32-bit float; reading 1e-5 as a double would be 2.5e-13 off."""
    X = np.array([[0.0], [2e-3]])
    args = (X, np.ones(1), np.zeros(1), np.zeros(1), np.full(1, 1e-6))
    np.testing.assert_array_equal(batch_normalization(*args, epsilon=1e-5)[0],
                                  batch_normalization(*args, epsilon=float(np.float32(1e-5)))[0])


@pytest.mark.parametrize("call, message", [
    (lambda: lrn(np.ones((1, 2, 2)), size=0), "size must be >= 1"),
    (lambda: group_normalization(np.ones((1, 3, 2)), np.ones(3), np.ones(3), num_groups=2), "must divide"),
    (lambda: group_normalization(np.ones((1, 4, 2)), np.ones(4), np.ones(4), num_groups=2, opset=18),
     "one scale per group"),
    (lambda: batch_normalization(np.ones((2, 3)), np.ones(2), *(np.ones(3),) * 3), "scale must have shape"),
    (lambda: mean_variance_normalization(np.ones((2, 3)), axes=[0, -2]), "distinct axes"),
    (lambda: lp_normalization(np.ones(3), p=3), "p must be 1 or 2"),
    (lambda: batch_normalization(np.ones((2, 3)), *(np.ones(3),) * 4, variants=("no_such",)), "unknown variant"),
])
def test_bad_calls_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- ONNX's own test data ------------------------------------------------------------------------

# What onnx 1.23.2 ships for the family (run by tests/test_onnx_shipped_cases.py); fewer means the
# data moved or the selection broke.
EXPECTED_NODE_CASES = {"BatchNormalization": 4, "LRN": 2, "LayerNormalization": 18, "InstanceNormalization": 2,
                       "GroupNormalization": 2, "MeanVarianceNormalization": 1, "LpNormalization": 6,
                       "RMSNormalization": 18}


def test_the_shipped_normalization_cases_are_all_there():
    found = {op: [c.name for c in node_cases() if op_types(c.model) == {op}] for op in EXPECTED_NODE_CASES}
    for op, expected in EXPECTED_NODE_CASES.items():
        assert len(found[op]) >= expected, f"only {found[op]} of {op} in onnx {onnx.__version__}"
    batch_norm_sets = [data_set_id(d) for d in data_set_directories() if "BatchNorm" in d.parent.name]
    assert len(batch_norm_sets) >= 5, batch_norm_sets  # pytorch-converted BatchNorm{1d,2d,3d}[_momentum]_eval


# --- what the strategies promise ---------------------------------------------------------------


@pytest.mark.parametrize("op", FAMILY)
def test_drawn_cases_are_finite_and_small(op):
    declaration = get_declaration(op)

    @settings(profile_settings("ci", examples=60))
    @given(declaration.cases())
    def check(case):
        assert all(np.isfinite(a).all() for a in case.inputs.values() if a is not None)
        outputs = declaration.expected(case)
        assert all(np.isfinite(o).all() for o in outputs), f"non-finite reference output for {case}"
        assert next(iter(case.inputs.values())).size <= 4 * 4096

    check()


def test_variances_span_eight_decades_around_epsilon_and_means_three_decades_of_std():
    declaration, ratios, offsets = get_declaration("BatchNormalization"), [], []

    @settings(profile_settings("ci", examples=300))
    @given(declaration.cases())
    def check(case):
        features = declaration.features(case)
        if features["training"] and features["dtype"] == "float32" and features["reduction_size"] > 4:
            ratios.append(features["min_variance_to_epsilon"])
            offsets.append(features["max_mean_to_std"])

    check()
    assert min(ratios) <= -5 and max(ratios) >= 1.5, (min(ratios), max(ratios))
    assert max(offsets) >= 500


def test_lrn_channel_counts_surround_the_window():
    declaration, seen = get_declaration("LRN"), set()

    @settings(profile_settings("ci", examples=300))
    @given(declaration.cases())
    def check(case):
        size, C = case.attributes["size"], case.inputs["X"].shape[1]
        seen.add("below" if C < size else "equal" if C == size else "above")

    check()
    assert seen == {"below", "equal", "above"}
