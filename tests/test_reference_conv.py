"""Self-test of the Conv/ConvTranspose reference against a second implementation written with loops.

``reference.conv`` is vectorized (strided views, matrix products, einsum); ``tests.loop_reference``
computes the same operators one element and one kernel tap at a time, straight from the ONNX
text. The two are compared on the very cases the suite certifies with (the operator
declarations' Hypothesis strategies), and both on hand-computed examples of the conventions that
differ in the wild; then the reference's named variants are checked against the loops on
rewritten calls, and its errors for invalid calls are checked for what they say.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note, settings

import reference
from conformance.case import Case
from conformance.ops import get_declaration
from reference.conv import conv, conv_transpose
from tests.loop_reference import BY_LOOPS, conv_by_loops, conv_transpose_by_loops


# --- The cross-check on the certified case space ----------------------------------------------


def sum_of_magnitudes(case: Case) -> float:
    """An upper bound of ``sum |x * w| + |b|`` over the products summed into one output element."""
    X, W, B = (case.inputs.get(name) for name in ("X", "W", "B"))
    group = case.attributes.get("group", 1)
    products = (X.shape[1] // group) * int(np.prod(W.shape[2:]))

    def largest(a: np.ndarray | None) -> float:
        return float(np.abs(a.astype(np.float64)).max()) if a is not None and a.size else 0.0

    return products * largest(X) * largest(W) + largest(B)


def assert_reference_matches_loops(case: Case) -> None:
    note(f"draws: {dict(case.draws)}")
    (vectorized,) = reference.evaluate(case.op_type, list(case.inputs.values()), case.attributes)
    by_loops = BY_LOOPS[case.op_type](*case.inputs.values(), **case.attributes)
    assert vectorized.dtype == np.float64
    assert vectorized.shape == by_loops.shape
    # Both sum the same float64 products, in different orders (matmul/einsum blocks vs one by one,
    # bias first vs last). The strategies draw at most n = 4 channels x 27 taps = 108 products,
    # so the two sums differ by at most about n * 2**-53 * sum|x*w| < 1.2e-14 * sum|x*w|: 1e-12
    # of the magnitude leaves an 80x margin, while a misplaced tap, pad or channel moves an
    # element by about one |x*w|, that is sum|x*w| / n.
    scale = sum_of_magnitudes(case)
    np.testing.assert_allclose(vectorized, by_loops, rtol=1e-12, atol=1e-12 * scale)


# The drawn cases are small (X has a median of about 70 elements), so 200 examples per operator
# take about a second; 40 missed corners the strategies are declared to reach (float64 Conv,
# float16 ConvTranspose, a strided last axis with a single output). The suite's default
# Hypothesis profile is derandomized, so every run checks the same cases.
@settings(max_examples=200)
@given(case=get_declaration("Conv").cases())
def test_conv_matches_loops_on_certified_cases(case: Case):
    assert_reference_matches_loops(case)


@settings(max_examples=200)
@given(case=get_declaration("ConvTranspose").cases())
def test_conv_transpose_matches_loops_on_certified_cases(case: Case):
    assert_reference_matches_loops(case)


# --- Hand-computed conventions, checked on both implementations --------------------------------


def signal(*values: float) -> np.ndarray:
    """A one-batch, one-channel 1-D input (or kernel): shape ``(1, 1, len(values))``."""
    return np.array(values, dtype=np.float64).reshape(1, 1, -1)


CONVS = pytest.mark.parametrize("conv_fn", [conv, conv_by_loops], ids=["vectorized", "loops"])
CONV_TRANSPOSES = pytest.mark.parametrize(
    "conv_transpose_fn", [conv_transpose, conv_transpose_by_loops], ids=["vectorized", "loops"]
)


@CONVS
@pytest.mark.parametrize(
    "auto_pad, expected",
    [
        # Length 5, kernel [1, 10]: output 5, total padding 1, a zero appended or prepended.
        ("SAME_UPPER", [1 + 20, 2 + 30, 3 + 40, 4 + 50, 5 + 0]),  # X padded as [1 2 3 4 5 0]
        ("SAME_LOWER", [0 + 10, 1 + 20, 2 + 30, 3 + 40, 4 + 50]),  # X padded as [0 1 2 3 4 5]
        ("VALID", [1 + 20, 2 + 30, 3 + 40, 4 + 50]),
    ],
)
def test_conv_same_puts_odd_padding_at_end_for_upper_and_beginning_for_lower(conv_fn, auto_pad, expected):
    Y = conv_fn(signal(1, 2, 3, 4, 5), signal(1, 10), auto_pad=auto_pad)
    np.testing.assert_array_equal(Y, signal(*expected))


@CONVS
def test_conv_same_with_stride_pads_to_ceil_of_input_over_stride(conv_fn):
    # Length 6, kernel 3, stride 2: output ceil(6/2) = 3, total padding (3-1)*2 + 3 - 6 = 1.
    X, W = signal(1, 2, 3, 4, 5, 6), signal(1, 10, 100)
    np.testing.assert_array_equal(conv_fn(X, W, auto_pad="SAME_UPPER", strides=[2]),
                                  signal(1 + 20 + 300, 3 + 40 + 500, 5 + 60 + 0))
    np.testing.assert_array_equal(conv_fn(X, W, auto_pad="SAME_LOWER", strides=[2]),
                                  signal(0 + 10 + 200, 2 + 30 + 400, 4 + 50 + 600))


@CONV_TRANSPOSES
@pytest.mark.parametrize(
    "auto_pad, expected",
    [
        # Full result of [1 2 3] with kernel [1, 10] is [1, 12, 23, 30]; SAME keeps 3 * 1 of it.
        ("SAME_UPPER", [1, 12, 23]),  # total padding 1: cropped at the end
        ("SAME_LOWER", [12, 23, 30]),  # cropped at the beginning
        ("VALID", [1, 12, 23, 30]),
    ],
)
def test_conv_transpose_same_crops_odd_padding_at_end_for_upper(conv_transpose_fn, auto_pad, expected):
    Y = conv_transpose_fn(signal(1, 2, 3), signal(1, 10), auto_pad=auto_pad)
    np.testing.assert_array_equal(Y, signal(*expected))


@CONVS
def test_conv_pads_are_all_begins_then_all_ends(conv_fn):
    # [x1_begin, x2_begin, x1_end, x2_end] = [1, 0, 0, 2]: one row on top, two columns on the right.
    X, W = np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), np.ones((1, 1, 1, 1))
    expected = [[0, 0, 0, 0],
                [1, 2, 0, 0],
                [3, 4, 0, 0]]
    np.testing.assert_array_equal(conv_fn(X, W, pads=[1, 0, 0, 2]), [[expected]])


@CONVS
@pytest.mark.parametrize(
    "pads, expected",
    [([2, 0], [0 + 0, 0 + 10, 1 + 20, 2 + 30]),  # X padded as [0 0 1 2 3]
     ([0, 2], [1 + 20, 2 + 30, 3 + 0, 0 + 0])],  # X padded as [1 2 3 0 0]
)
def test_conv_asymmetric_pads(conv_fn, pads, expected):
    np.testing.assert_array_equal(conv_fn(signal(1, 2, 3), signal(1, 10), pads=pads), signal(*expected))


@CONV_TRANSPOSES
@pytest.mark.parametrize("pads, expected", [([1, 0], [12, 23, 30]), ([0, 2], [1, 12])])
def test_conv_transpose_pads_crop_the_full_result(conv_transpose_fn, pads, expected):
    Y = conv_transpose_fn(signal(1, 2, 3), signal(1, 10), pads=pads)
    np.testing.assert_array_equal(Y, signal(*expected))


@CONVS
def test_conv_dilated_kernel_skips_inputs(conv_fn):
    # Kernel [1, 10] with dilation 2 reads x[o] and x[o + 2].
    Y = conv_fn(signal(1, 2, 3, 4, 5), signal(1, 10), dilations=[2])
    np.testing.assert_array_equal(Y, signal(1 + 30, 2 + 40, 3 + 50))


@CONV_TRANSPOSES
def test_conv_transpose_dilated_kernel_spreads_taps(conv_transpose_fn):
    # x[i] * w[k] lands on i + 2k: [1*1, 2*1, 1*10, 2*10].
    Y = conv_transpose_fn(signal(1, 2), signal(1, 10), dilations=[2])
    np.testing.assert_array_equal(Y, signal(1, 2, 10, 20))


@CONV_TRANSPOSES
@pytest.mark.parametrize(
    "attributes, expected",
    [
        # x[i] * w[k] lands on 2i + k: the full result of [1 2] with [1, 10] is [1, 10, 2, 20].
        ({}, [1, 10, 2, 20]),
        # output_padding adds elements at the end, which receive only the bias.
        ({"output_padding": [1]}, [1, 10, 2, 20, 0]),
        # output_shape 3: total padding 1, at the beginning (NOTSET) or at the end (SAME_UPPER).
        ({"output_shape": [3]}, [10, 2, 20]),
        ({"output_shape": [3], "auto_pad": "SAME_UPPER"}, [1, 10, 2]),
        # output_padding counts in the total padding when output_shape is given: 4 + 1 - 4 = 1.
        ({"output_shape": [4], "output_padding": [1]}, [10, 2, 20, 0]),
    ],
    ids=["plain", "output_padding", "output_shape", "output_shape_same_upper", "output_shape_and_padding"],
)
def test_conv_transpose_stride_output_padding_and_output_shape(conv_transpose_fn, attributes, expected):
    Y = conv_transpose_fn(signal(1, 2), signal(1, 10), np.array([0.5]), strides=[2], **attributes)
    np.testing.assert_array_equal(Y, signal(*expected) + 0.5)


@CONVS
def test_conv_groups_pair_output_channels_with_their_input_channels(conv_fn):
    # group 2, two outputs per group: outputs 0-1 read input channel 0, outputs 2-3 channel 1.
    X = np.array([1.0, 2.0]).reshape(1, 2, 1)
    W = np.array([1.0, 2.0, 3.0, 4.0]).reshape(4, 1, 1)
    np.testing.assert_array_equal(conv_fn(X, W, group=2), np.array([1.0, 2.0, 6.0, 8.0]).reshape(1, 4, 1))


@CONV_TRANSPOSES
def test_conv_transpose_groups_pair_output_channels_with_their_input_channels(conv_transpose_fn):
    # W is (C, M/group, k): input channel 0 feeds outputs 0-1, input channel 1 feeds outputs 2-3.
    X = np.array([1.0, 2.0]).reshape(1, 2, 1)
    W = np.array([1.0, 2.0, 3.0, 4.0]).reshape(2, 2, 1)
    Y = conv_transpose_fn(X, W, group=2)
    np.testing.assert_array_equal(Y, np.array([1.0, 2.0, 6.0, 8.0]).reshape(1, 4, 1))


# --- The named variants: each one is the specification applied to a rewritten call --------------


def flipped(W: np.ndarray) -> np.ndarray:
    return W[(slice(None), slice(None)) + (slice(None, None, -1),) * (W.ndim - 2)]


# (variants, attributes of the call, the same call rewritten for the specification). With a 5x6
# input, a 2x3 kernel and strides [1, 2], the total SAME padding is odd on both axes for Conv and
# for ConvTranspose, so that swapping SAME_UPPER and SAME_LOWER changes the result.
VARIANT_CALLS = [
    (("flipped_kernel",), {"pads": [1, 0, 0, 2]}, lambda W, B, a: (flipped(W), B, a)),
    (("same_upper_lower_swapped",), {"auto_pad": "SAME_UPPER", "strides": [1, 2]},
     lambda W, B, a: (W, B, {**a, "auto_pad": "SAME_LOWER"})),
    (("same_upper_lower_swapped",), {"auto_pad": "SAME_LOWER", "strides": [1, 2]},
     lambda W, B, a: (W, B, {**a, "auto_pad": "SAME_UPPER"})),
    (("pads_begin_end_swapped",), {"pads": [1, 0, 0, 2]}, lambda W, B, a: (W, B, {**a, "pads": [0, 2, 1, 0]})),
    (("dilations_ignored",), {"dilations": [2, 2]}, lambda W, B, a: (W, B, {**a, "dilations": [1, 1]})),
    (("bias_ignored",), {"strides": [2, 1]}, lambda W, B, a: (W, None, a)),
    (("flipped_kernel", "bias_ignored"), {}, lambda W, B, a: (flipped(W), None, a)),
]


def variant_operands(op_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (2, 4, 5, 6), a (2, 3) kernel and a bias, for group 2 with 3 outputs per group."""
    rng = np.random.default_rng(20240611)
    X = rng.standard_normal((2, 4, 5, 6))
    W = rng.standard_normal((6, 2, 2, 3) if op_type == "Conv" else (4, 3, 2, 3))
    return X, W, rng.standard_normal(6)


@pytest.mark.parametrize("op_type", ["Conv", "ConvTranspose"])
@pytest.mark.parametrize(
    "variants, attributes, rewrite", VARIANT_CALLS,
    ids=["+".join(v) + ("-" + a["auto_pad"] if "auto_pad" in a else "") for v, a, _ in VARIANT_CALLS],
)
def test_variant_is_the_specification_on_a_rewritten_call(op_type, variants, attributes, rewrite):
    X, W, B = variant_operands(op_type)
    attributes = {**attributes, "group": 2}
    under_variant = reference.evaluate(op_type, [X, W, B], attributes, variants)[0]
    W2, B2, attributes2 = rewrite(W, B, attributes)
    # Standard normal operands, at most 12 products per element: float64 sums agree to ~1e-15.
    np.testing.assert_allclose(under_variant, BY_LOOPS[op_type](X, W2, B2, **attributes2), rtol=1e-12, atol=1e-12)
    spec = reference.evaluate(op_type, [X, W, B], attributes)[0]
    assert spec.shape != under_variant.shape or not np.allclose(spec, under_variant), (
        f"{variants} does not change this {op_type} call, so the check above proves nothing"
    )


@pytest.mark.parametrize("function", [conv, conv_transpose])
def test_unknown_variant_is_a_value_error_that_lists_the_known_ones(function):
    X, W = signal(1, 2, 3), signal(1, 10)
    with pytest.raises(ValueError, match=r"unknown variant\(s\) flipped_kernels; known: flipped_kernel, "):
        function(X, W, variants=("flipped_kernels",))


# --- Invalid calls ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "function, X_shape, W_shape, attributes, message",
    [
        (conv, (1, 3, 5, 5), (2, 1, 3, 3), {"group": 2},
         r"group=2 needs C \(3\) and M \(2\) divisible by it and W.shape\[1\] == C/group"),
        (conv, (1, 4, 5, 5), (2, 4, 3, 3), {"group": 2}, r"W.shape\[1\] == C/group; got W shape \(2, 4, 3, 3\)"),
        (conv_transpose, (1, 3, 5), (3, 1, 3), {"group": 2}, r"group=2 needs W.shape\[0\] == C \(3\) divisible by it"),
        (conv, (1, 1, 5, 5), (1, 1, 3, 3), {"pads": [1, 1, 1]}, r"pads has 3 values; 4 expected for 2 spatial axes"),
        (conv_transpose, (1, 1, 5), (1, 1, 3), {"pads": [1, 1, 1, 1]}, r"pads has 4 values; 2 expected for 1 spatial"),
        (conv, (1, 1, 5, 5), (1, 1, 3, 3), {"pads": [1, -1, 0, 0]}, r"pads must be >= 0, got \[1, -1, 0, 0\]"),
        (conv_transpose, (1, 1, 5), (1, 1, 3), {"pads": [0, -1]}, r"pads must be >= 0, got \[0, -1\]"),
        (conv, (1, 1, 2, 6), (1, 1, 4, 1), {}, r"padded input \(2\) is smaller than the dilated kernel \(4\)"),
        (conv, (1, 1, 4), (1, 1, 2), {"dilations": [5], "pads": [1, 0]},
         r"padded input \(5\) is smaller than the dilated kernel \(6\)"),
        (conv_transpose, (1, 1, 2), (1, 1, 2), {"pads": [2, 1]}, r"pads \[2, 1\] crop the whole output"),
    ],
    ids=["conv-group-C", "conv-group-W", "transpose-group", "conv-pads-length", "transpose-pads-length",
         "conv-negative-pads", "transpose-negative-pads", "conv-kernel-too-large", "conv-dilated-too-large",
         "transpose-crop-everything"],
)
def test_invalid_call_is_a_value_error_that_names_the_problem(function, X_shape, W_shape, attributes, message):
    with pytest.raises(ValueError, match=message):
        function(np.ones(X_shape), np.ones(W_shape), **attributes)
