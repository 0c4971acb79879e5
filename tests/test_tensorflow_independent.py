"""The TensorFlow column is independent of the oracle, and lowers what TensorFlow can express.

- No module of ``conformance.backends.tensorflow`` imports ``reference``: the lowerings derive ONNX's
  geometry and defaults again from the spec (``geometry``, ``attributes``), so that a mistake in the
  reference cannot agree with itself on the TensorFlow side.
- SAME_LOWER (Conv, ConvTranspose, MaxPool, AveragePool) and AveragePool's partial divisors
  (count_include_pad=0 with padding, ceil-mode windows past the end padding) are lowered and agree
  with the reference. Every case has an odd total padding, or a partial window, where the two
  readings part: the test checks that the reference's answer changes when the attribute does, so
  a lowering that swapped SAME_UPPER and SAME_LOWER, or counted the padding, would fail here.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from conformance import load_backend
from conformance.backends.tensorflow import geometry
from conformance.case import Case
from conformance.certify import run_example
from conformance.divergences import load_manifest
from conformance.environment import execution_facts
from conformance.ops import get_declaration

TENSORFLOW_PACKAGE = Path(__file__).resolve().parents[1] / "conformance" / "backends" / "tensorflow"


def imported_modules(source: str) -> set[str]:
    """Every module an ``import`` or ``from ... import`` statement names, anywhere in ``source``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imports_reference(source: str) -> bool:
    return any(name == "reference" or name.startswith("reference.") for name in imported_modules(source))


def test_the_import_check_sees_every_spelling_of_an_import_of_the_reference():
    assert imports_reference("from reference.windows import window_pads")
    assert imports_reference("import reference.pooling as p")
    assert imports_reference("def f():\n    from reference import activations as act\n")
    assert not imports_reference("from conformance.backends.tensorflow.geometry import same_pads\n# the reference")
    assert not imports_reference("import referencelike")


def test_no_tensorflow_module_imports_the_reference():
    modules = sorted(TENSORFLOW_PACKAGE.glob("*.py"))
    assert len(modules) > 5, f"the TensorFlow backend's modules were not found under {TENSORFLOW_PACKAGE}"
    offenders = [m.name for m in modules if imports_reference(m.read_text())]
    assert not offenders, f"these TensorFlow modules import the reference: {offenders}"


def test_the_lowerings_load_with_the_reference_blocked():
    """Every lowering module imports in a process where ``import reference`` fails (at import time)."""
    script = ("import sys; sys.modules['reference'] = None\n"
              "from conformance.backends.tensorflow import LOWERINGS\n"
              "print(len(LOWERINGS))")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.split()[-1]) > 50


# -- The geometry, on values worked out by hand from the spec's text -----------------------------


@pytest.mark.parametrize("size, kernel, stride, dilation, upper, lower", [
    (5, 2, 1, 1, (0, 1), (1, 0)),  # total 1: the odd pixel at the end (UPPER) or the beginning (LOWER)
    (7, 3, 2, 2, (2, 2), (2, 2)),  # ceil(7/2) = 4 outputs, total 3*2 + 5 - 7 = 4 with the dilated kernel
    (6, 4, 2, 1, (1, 1), (1, 1)),
    (7, 2, 2, 1, (0, 1), (1, 0)),
    (5, 1, 3, 1, (0, 0), (0, 0)),  # a stride longer than the kernel: a negative total pads nothing
])
def test_same_pads_follow_the_spec(size, kernel, stride, dilation, upper, lower):
    assert geometry.same_pads(size, kernel, stride, dilation, "SAME_UPPER") == upper
    assert geometry.same_pads(size, kernel, stride, dilation, "SAME_LOWER") == lower


@pytest.mark.parametrize("size, kernel, stride, pads, ceil_mode, overhang, output", [
    (6, 3, 2, [0, 0], 0, 0, 2),
    (6, 3, 2, [0, 0], 1, 1, 3),  # ceil adds a window reaching one tap past the input
    (4, 2, 3, [0, 2], 1, 0, 2),  # ceil's third window would start at 6, in the end padding: dropped
    (5, 2, 2, [0, 1], 1, 0, 3),
])
def test_pool_windows_follow_the_spec(size, kernel, stride, pads, ceil_mode, overhang, output):
    begins, ends, overhangs, outputs = geometry.pool_windows([size], [kernel], [stride], [1], "NOTSET", pads, ceil_mode)
    assert (begins, ends, overhangs, outputs) == ([pads[0]], [pads[1]], [overhang], [output])


def test_conv_transpose_same_crops_the_odd_pixel_on_the_named_side():
    # Full result 2 * (3 - 1) + 3 = 7, SAME's output 3 * 2 = 6: one pixel to crop.
    assert geometry.conv_transpose_crop([3], [3], [2], [1], [0], "SAME_UPPER", None, None) == ([0], [6])
    assert geometry.conv_transpose_crop([3], [3], [2], [1], [0], "SAME_LOWER", None, None) == ([1], [6])
    assert geometry.conv_transpose_crop([3], [3], [2], [1], [1], "NOTSET", [1, 2], None) == ([1], [5])


# -- The newly lowered cases agree with the reference ---------------------------------------------


@pytest.fixture(scope="module")
def tensorflow():
    pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    return load_backend("tensorflow")


def _array(shape, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _case(op_type: str, attributes: dict, X_shape, W_shape=None) -> Case:
    inputs = {"X": _array(X_shape, 0)}
    if W_shape is not None:
        inputs["W"] = _array(W_shape, 1)
    return Case(op_type, inputs, attributes)


# Each pair: the case lowered, and the same case with the attribute read the other way round,
# whose reference output must differ (else the case could not tell the two readings apart).
PAIRS = {
    "conv_2d": ("Conv", {"auto_pad": "SAME_LOWER", "kernel_shape": [2, 2]}, (2, 3, 5, 6), (4, 3, 2, 2),
                {"auto_pad": "SAME_UPPER"}),
    "conv_1d_strided": ("Conv", {"auto_pad": "SAME_LOWER", "strides": [2]}, (1, 2, 8), (3, 2, 3),
                        {"auto_pad": "SAME_UPPER"}),
    "conv_depthwise_dilated": ("Conv", {"auto_pad": "SAME_LOWER", "group": 3, "dilations": [2, 1]}, (1, 3, 6, 5),
                               (3, 1, 2, 2), {"auto_pad": "SAME_UPPER"}),
    "conv_3d": ("Conv", {"auto_pad": "SAME_LOWER"}, (1, 2, 4, 3, 5), (2, 2, 2, 2, 2), {"auto_pad": "SAME_UPPER"}),
    "conv_transpose_2d": ("ConvTranspose", {"auto_pad": "SAME_LOWER", "strides": [2, 2]}, (1, 2, 3, 4),
                          (2, 3, 3, 3), {"auto_pad": "SAME_UPPER"}),
    "conv_transpose_grouped_1d": ("ConvTranspose", {"auto_pad": "SAME_LOWER", "strides": [2], "group": 2},
                                  (1, 4, 5), (4, 1, 3), {"auto_pad": "SAME_UPPER"}),
    "max_pool_2d": ("MaxPool", {"auto_pad": "SAME_LOWER", "kernel_shape": [2, 3]}, (2, 3, 5, 6), None,
                    {"auto_pad": "SAME_UPPER"}),
    "max_pool_dilated_1d": ("MaxPool", {"auto_pad": "SAME_LOWER", "kernel_shape": [2], "dilations": [3]},
                            (1, 2, 9), None, {"auto_pad": "SAME_UPPER"}),
    "average_pool_2d": ("AveragePool", {"auto_pad": "SAME_LOWER", "kernel_shape": [2, 2]}, (2, 3, 5, 5), None,
                        {"auto_pad": "SAME_UPPER"}),
    "average_pool_counting_pads": ("AveragePool", {"auto_pad": "SAME_LOWER", "kernel_shape": [2, 2],
                                                   "count_include_pad": 1}, (1, 2, 5, 5), None,
                                   {"auto_pad": "SAME_UPPER"}),
    "average_pool_pads_left_out": ("AveragePool", {"kernel_shape": [3, 2], "pads": [1, 0, 2, 1],
                                                   "count_include_pad": 0}, (2, 3, 6, 7), None,
                                   {"count_include_pad": 1}),
    "average_pool_pads_left_out_dilated": ("AveragePool", {"kernel_shape": [2], "pads": [2, 1], "dilations": [2],
                                                           "strides": [2]}, (1, 2, 7), None,
                                           {"count_include_pad": 1}),
    "average_pool_ceil_overhang": ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1,
                                                   "pads": [1, 1, 1, 1], "count_include_pad": 1}, (1, 2, 6, 6), None,
                                   {"ceil_mode": 0}),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_newly_lowered_cases_agree_with_the_reference(tensorflow, name):
    op_type, attributes, X_shape, W_shape, other_reading = PAIRS[name]
    declaration = get_declaration(op_type)
    case = _case(op_type, attributes, X_shape, W_shape)
    other = _case(op_type, {**attributes, **other_reading}, X_shape, W_shape)
    expected, alternative = declaration.expected(case)[0], declaration.expected(other)[0]
    assert expected.shape != alternative.shape or not np.allclose(expected, alternative), \
        f"{name}: the case does not tell {attributes} from {other_reading}"
    outcome = run_example(declaration, tensorflow, case)
    assert outcome.status == "agree", f"{name}: {outcome.status}: {outcome.message}"


def test_average_pool_1_leaves_the_padding_out_as_its_version_defines(tensorflow):
    """AveragePool-1 has no count_include_pad (its text: the padding is never counted); the lowering reads
    the attribute's absence as 0, and the case tells that from counting the padding."""
    declaration = get_declaration("AveragePool")
    X = {"X": _array((2, 3, 5, 6), 0)}
    case = Case("AveragePool", X, {"kernel_shape": [3, 2], "pads": [1, 0, 2, 1], "strides": [2, 1]}, opset=1)
    counting = Case("AveragePool", X, {**case.attributes, "count_include_pad": 1}, opset=7)
    assert not np.allclose(declaration.expected(case)[0], declaration.expected(counting)[0])
    outcome = run_example(declaration, tensorflow, case)
    assert outcome.status == "agree", outcome.message


def test_gemm_6_broadcasts_c_only_where_its_broadcast_attribute_is_set(tensorflow):
    """Gemm-6: a C of shape (N,) is broadcast with broadcast=1 (the node of ONNX's pytorch-converted
    test_Linear) and refused without it (default 0: C has Y's shape), not broadcast anyway; beta scales C
    in both forms (onnx.reference's Gemm_6 drops it without broadcast)."""
    declaration = get_declaration("Gemm")
    A, B = _array((4, 3), 1), _array((5, 3), 2)
    row, matrix = _array((5,), 3), _array((4, 5), 4)
    for attributes, C in [({"broadcast": 1, "transB": 1, "beta": 0.5}, row), ({"transB": 1, "beta": 0.5}, matrix),
                          ({"broadcast": 0, "transB": 1, "beta": -2.0}, matrix), ({"broadcast": 1, "transB": 1}, _array((), 5))]:
        case = Case("Gemm", {"A": A, "B": B, "C": C}, attributes, opset=6)
        outcome = run_example(declaration, tensorflow, case)
        assert outcome.status == "agree", f"{attributes}: {outcome.status}: {outcome.message}"
    for attributes in ({"transB": 1}, {"broadcast": 0, "transB": 1}):
        case = Case("Gemm", {"A": A, "B": B, "C": row}, attributes, opset=6)
        with pytest.raises(ValueError, match="without broadcast"):
            declaration.expected(case)
        with pytest.raises(ValueError, match="without broadcast"):
            tensorflow.run(case.model, case.feeds)


def test_prelu_6_reads_a_slope_of_c_values_per_channel_where_c_is_also_the_last_axis(tensorflow):
    """The default reading of PRelu-6 (one value per channel), not NumPy's (along the last axis): the
    lowering agrees under the default reading itself, not through the alternative."""
    declaration = get_declaration("PRelu")
    case = Case("PRelu", {"X": -np.abs(_array((2, 3, 3), 6)), "slope": np.array([1, 2, 3], dtype=np.float32)}, {}, opset=6)
    assert not np.allclose(declaration.expected(case)[0], declaration.expected(case, ["slope_broadcast_before_7"])[0])
    outcome = run_example(declaration, tensorflow, case)
    assert outcome.status == "agree" and outcome.verdict.reading == "", outcome.message


@pytest.mark.parametrize("op_type", ["Conv", "ConvTranspose", "MaxPool", "AveragePool"])
def test_drawn_same_lower_cases_agree_with_the_reference(tensorflow, op_type):
    """The declaration's own SAME_LOWER draws: agree, or Unsupported for a reason other than SAME_LOWER.

    Draws inside a shipped known divergence that holds on this machine are left out, as ``certify``
    leaves them (TensorFlow's Eigen kernels refuse dilated float16 transposed convolutions, say).
    """
    declaration = get_declaration(op_type)
    facts = execution_facts(tensorflow)
    known = [d for d in load_manifest() if d.applies_to(tensorflow.name, tensorflow.version, op_type, facts)]

    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(declaration.cases(pins={"auto_pad": "SAME_LOWER"}))
    def check(case):
        assert case.attributes.get("auto_pad") == "SAME_LOWER"
        if any(d.matches(declaration.features(case)) for d in known):
            return
        outcome = run_example(declaration, tensorflow, case)
        if outcome.status == "unsupported":
            assert "SAME_LOWER" not in outcome.message
        else:
            assert outcome.status == "agree", outcome.message

    check()


@pytest.mark.parametrize("dtype", ["float16", "int8", "uint8"])
def test_3d_max_pooling_of_dtypes_float32_holds_exactly_agrees(tensorflow, dtype):
    """TensorFlow's 3-D pooling takes float32 only; these dtypes round-trip through it exactly."""
    rng = np.random.default_rng(2)
    X = rng.integers(-100 if dtype == "int8" else 0, 100, (1, 2, 4, 3, 5)).astype(dtype)
    if dtype == "float16":
        X = (X / np.float16(7)).astype(dtype)  # values float16 holds and float32 holds too
    case = Case("MaxPool", {"X": X}, {"kernel_shape": [2, 2, 3], "pads": [1, 0, 1, 0, 1, 2], "strides": [2, 1, 2]})
    outcome = run_example(get_declaration("MaxPool"), tensorflow, case)
    assert outcome.status == "agree", f"{outcome.status}: {outcome.message}"
    assert outcome.outputs[0].dtype == np.dtype(dtype)
