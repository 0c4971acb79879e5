"""Activations and the softmax family: the cases to draw, the features that describe them, the bounds.

## Cases

Inputs hold up to about 4k elements (float16 softmax rows fewer, see below), float32 mostly,
float16 and float64 too, and integers where the operator takes them (Relu, PRelu, Clip). Values
span six decades (up to +-1e3 and beyond, where an exp without a guard overflows), and half of
the cases also carry special values at the points where conventions part ways: 0 and -0, the
exp overflow thresholds of the dtype (88.7 in float32, 11.1 in float16, 709.8 in float64),
ThresholdedRelu's alpha itself, HardSigmoid's kinks, HardSwish's +-3, Clip's bounds, and ties
for Hardmax. Attributes are drawn absent (the default) as often as spelt out, because default
values are where frameworks differ (LeakyRelu 0.01 / 0.2 / 0.3, HardSigmoid 0.2 / 1/6). Float
attributes are float32 values, as the model stores them. PRelu draws opset 16 mostly, and 6, 7
and 9 (floats only before 9; before 7, a slope of size 1 or a 1-D slope of one value per channel,
the only layouts opset 6 is read to have). Softmax, LogSoftmax and Hardmax draw
the opset: 11 (the input coerced to 2-D around ``axis``, default 1) or 13 (one axis, default
-1), with shapes where the two differ. Clip draws opset 6 (min/max attributes), 11, 12 and 13
(min/max inputs, either omitted), and min > max only from opset 13, the first to define it.

## Error bounds

Each bound is the first-order rounding-error bound of evaluating the operator's formula in the
input's dtype T, with the input exact (the reference reads the very arrays the backend got):

- u is T's unit roundoff (2^-11, 2^-24, 2^-53) and tiny its smallest normal number;
- +, -, * round once (relative error at most u); constants and float attributes are rounded
  once to T (u each);
- an elementary function f returns f(v) within E_f ulps, which is a relative error of at most
  2 E_f u (an ulp of a normal y is at most 2u|y|). E_f are the maxima OpenCL allows its
  single-precision built-ins (OpenCL C 1.2, section 7.4, table 7.1), the published yardstick
  for a vectorized math library: exp, expm1, log 3 ulp; log1p 2; tanh 5; erf, erfc, pow 16;
  division 2.5;
- an error e on an intermediate v propagates to the output through the formula's derivative,
  |dy/dv| e (the condition of the rest of the computation); k rounding factors (1 + d_i)
  compound to at most gamma_k = ku / (1 - ku) (Higham, Lemma 3.1), which every term uses;
- flush-to-zero or gradual underflow loses at most tiny per operation, so each bound has an
  absolute floor of a few tiny, and a result below tiny may be returned as 0 (flush-to-zero, or
  a subnormal input read as 0: TensorFlow's CPU kernels run so).

Where the spec's formula and its standard stable rewriting (expm1 for exp(x) - 1, log1p for
log(1 + e^x), erfc for 1 + erf, the max subtracted in a softmax) round differently, the bound is
the sum of both derivations, so that a backend using either passes: the obvious float32 NumPy
formula and a careful library both stay within it. An overflow is not a rounding error: a
Softplus evaluated as log(exp(x) + 1), or a softmax without the max subtracted, returns inf or
NaN where the true value is finite, and fails. The float64 reference has rounding errors of its
own; each bound adds the same derivation at u = 2^-53, which matters only for float64 cases.
Selections (Relu, ThresholdedRelu, Clip, Hardmax) are exact, except where a float attribute
must first be rounded to a narrower T, and where a subnormal result is flushed to 0. The
derivation of each operator is in the docstring of its bound below.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

import reference
from conformance.case import Case
from conformance.ops.declaration import OpDeclaration
from conformance.strategies import Draws, float_array
from conformance.strategies import built_once as st
from conformance.tolerance import Derived, Exact, gamma, unit_roundoff
from reference import activations as act
from reference import special

INPUT_BUDGET = 4096  # elements of X, so that a default run stays fast
# A float16 row sum of n terms may be off by gamma_{n-1}(2^-11): rows of at most 256 keep it below 15%.
FLOAT16_SOFTMAX_BUDGET = 256
FLOAT_DTYPES = ("float32",) * 6 + ("float16", "float64")
SIGNED = ("int8", "int16", "int32", "int64")

# Maximum errors of elementary functions in ulps: OpenCL C 1.2, table 7.1 (single precision).
ULPS = {"exp": 3.0, "expm1": 3.0, "log": 3.0, "log1p": 2.0, "tanh": 5.0, "erf": 16.0, "pow": 16.0, "div": 2.5}
FLOAT64 = np.dtype(np.float64)


def library(name: str, u: float) -> float:
    """The relative error of the library's elementary function ``name``: E ulps, at most 2*E*u."""
    return gamma(2 * ULPS[name], u)


def rounds(k: float, u: float) -> float:
    """gamma_k(u): the relative error of k compounded roundings."""
    return gamma(k, u)


def overflow_threshold(dtype) -> float:
    """The largest x whose exp(x) is finite in ``dtype``: ln(max)."""
    return math.log(float(np.finfo(dtype).max))


# -- Drawing cases -------------------------------------------------------------------------------


def f32(value: float) -> float:
    """The float32 value a model stores for a float attribute."""
    return float(np.float32(value))


def _shape(d: Draws, ranks: Sequence[int], budget: int, widest: int = 12) -> list[int]:
    rank = d("rank", st.sampled_from(tuple(ranks)))
    if rank == 0:
        return []
    cap = max(1, min(widest, int(budget ** (1 / rank))))
    return d("shape", st.lists(st.integers(1, cap), min_size=rank, max_size=rank))


def _integers(d: Draws, label: str, shape: Sequence[int], dtype: str) -> np.ndarray:
    seed = d(f"{label}.seed", st.integers(0, 2**32 - 1))
    info = np.iinfo(dtype)
    low, high = max(int(info.min), -100), min(int(info.max), 100)
    return np.asarray(np.random.default_rng(seed).integers(low, high + 1, shape), dtype=dtype)


def _with_specials(d: Draws, label: str, values: np.ndarray, specials: Sequence[float]) -> np.ndarray:
    """``values`` with about a third of its elements replaced by ``specials`` (a labelled choice)."""
    if values.size == 0 or not specials or not d(f"{label}.specials", st.booleans()):
        return values
    rng = np.random.default_rng(d.record[f"{label}.seed"] + 1)
    chosen = np.asarray(specials, dtype=np.float64).astype(values.dtype)
    where = rng.random(values.shape) < 1 / 3
    values = values.copy()
    values[where] = rng.choice(chosen, size=int(where.sum()))
    return values


def _input(d: Draws, label: str, shape: Sequence[int], dtype: str, specials: Sequence[float] = ()) -> np.ndarray:
    """An input array: integers, or floats over six decades with the dtype's and the op's specials."""
    if np.dtype(dtype).kind in "iu":
        return _integers(d, label, shape, dtype)
    base = np.asarray(float_array(d, label, shape, dtype))  # a 0-d array, not a NumPy scalar, at rank 0
    return _with_specials(d, label, base, [*common_specials(dtype), *specials])


def common_specials(dtype: str) -> list[float]:
    """0, -0, +-1 and values on both sides of the dtype's exp overflow threshold (and +-1000)."""
    edge = overflow_threshold(dtype)
    largest = float(np.finfo(dtype).max)
    values = [0.0, -0.0, 1.0, -1.0, 1000.0, -1000.0, 20.0, -20.0]
    values += [math.floor(edge), math.ceil(edge), -math.floor(edge), -math.ceil(edge), 2 * edge, -2 * edge]
    return [v for v in values if abs(v) <= largest]


def _optional_float(d: Draws, label: str, choices: Sequence[float | None]):
    """A float attribute drawn from ``choices`` (None: absent), as the float32 the model stores."""
    value = d(label, st.sampled_from(tuple(choices)))
    return None if value is None else f32(value)


def _attributes(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _unary_case(op_type: str, specials: Callable[[str, Mapping[str, Any]], Sequence[float]] = lambda dtype, a: (),
                attributes: Callable[[Draws], dict[str, Any]] = lambda d: {},
                integer_dtypes: Sequence[str] = (), input_name: str = "X", ranks=(0, 1, 2, 2, 3, 4)):
    """The strategy of an elementwise operator with one input: dtype, shape, attributes, values."""

    @st.composite
    def cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
        d = Draws(draw, pins)
        dtype = d("dtype", st.sampled_from(FLOAT_DTYPES + tuple(integer_dtypes)))
        shape = _shape(d, ranks, INPUT_BUDGET)
        attrs = attributes(d)
        X = _input(d, "X", shape, dtype, specials(dtype, attrs))
        return Case(op_type, {input_name: X}, attrs, draws=d.record)

    cases.__name__ = cases.__qualname__ = f"{op_type.lower()}_cases"
    return cases


def leaky_relu_attributes(d: Draws) -> dict[str, Any]:
    alphas = (None, None, None, 0.01, 0.1, 0.2, 0.3, 0.5, 1.0, 1.5, -0.5, 0.0)
    return _attributes(alpha=_optional_float(d, "alpha", alphas))


def elu_attributes(d: Draws) -> dict[str, Any]:
    return _attributes(alpha=_optional_float(d, "alpha", (None, None, 1.0, 0.5, 2.0, 0.1, -1.0)))


def selu_attributes(d: Draws) -> dict[str, Any]:
    return _attributes(alpha=_optional_float(d, "alpha", (None, None, None, act.SELU_ALPHA, 1.0, 2.0)),
                       gamma=_optional_float(d, "gamma", (None, None, None, act.SELU_GAMMA, 1.0, 2.0)))


def celu_attributes(d: Draws) -> dict[str, Any]:
    return _attributes(alpha=_optional_float(d, "alpha", (None, None, 1.0, 0.5, 2.0, 3.5, 0.25)))


def hard_sigmoid_attributes(d: Draws) -> dict[str, Any]:
    return _attributes(alpha=_optional_float(d, "alpha", (None, None, None, 0.2, 1 / 6, 0.5, 2.0, -0.25)),
                       beta=_optional_float(d, "beta", (None, None, 0.5, 0.0, 0.25, 1.0)))


def hard_sigmoid_specials(dtype: str, attributes: Mapping[str, Any]) -> list[float]:
    """The kinks, where alpha * x + beta is 0 or 1, under ONNX's defaults and PyTorch's."""
    alpha, beta = act.hard_sigmoid_parameters(attributes.get("alpha"), attributes.get("beta"))
    kinks = [-beta / alpha, (1 - beta) / alpha] if alpha else []
    return kinks + [-3.0, 3.0, -2.5, 2.5]


def thresholded_relu_attributes(d: Draws) -> dict[str, Any]:
    return _attributes(alpha=_optional_float(d, "alpha", (None, None, 1.0, 0.0, 0.5, 2.0, -1.0, 0.1)))


def thresholded_relu_specials(dtype: str, attributes: Mapping[str, Any]) -> list[float]:
    """alpha itself (rounded to the dtype) and its neighbours, where > and >= part ways."""
    alpha = np.asarray(act.thresholded_relu_alpha(attributes.get("alpha"))).astype(dtype)
    return [float(alpha), float(np.nextafter(alpha, np.inf, dtype=alpha.dtype)),
            float(np.nextafter(alpha, -np.inf, dtype=alpha.dtype))]


def gelu_attributes(d: Draws) -> dict[str, Any]:
    return _attributes(approximate=d("approximate", st.sampled_from((None, "none", "tanh"))))


PRELU_OPSETS = (16,) * 6 + (6, 6, 7, 9)  # the current definition first (and most often), where shrinking goes


@st.composite
def prelu_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """PRelu-16 mostly, and 6, 7 and 9: X of rank 0 to 4 and a slope, floats (integers from opset 9).

    From opset 7 the slope broadcasts unidirectionally to X, in the shapes exporters use: a scalar,
    [1], one value per channel laid out as [C, 1, 1] (PyTorch), a 1-D slope along the last axis
    (favoured with C equal to the last axis, where per-channel and broadcast readings differ), X's
    trailing shape, or X's whole shape. PRelu-6 describes only a slope of size 1: a scalar, [1],
    and the 1-D slope of C values PyTorch exports (read per channel, ``slope_per_channel_before_7``),
    with C also X's last axis (where the readings part) or also its first (where the slope's length
    names no single axis)."""
    d = Draws(draw, pins)
    opset = d("opset", st.sampled_from(PRELU_OPSETS))
    dtype = d("dtype", st.sampled_from(FLOAT_DTYPES + (("int32", "int64") if opset >= 9 else ())))
    shape = _shape(d, (0, 1, 2, 3, 3, 4, 4), INPUT_BUDGET)
    rank = len(shape)
    if opset < 7:
        kinds = ["scalar"] + ["one"] * (rank >= 1) + ["channels", "channels"] * (rank >= 2)
        kinds += ["last_axis_channels", "batch_channels"] * (rank >= 3)
    else:
        kinds = ["scalar", "trailing", "full"] + (["one", "last_axis", "last_axis"] if rank >= 1 else [])
        kinds += ["per_channel", "last_axis_channels"] * (rank >= 3)
    kind = d("slope_kind", st.sampled_from(kinds))
    if kind == "last_axis_channels":  # a 1-D slope whose length is both C and the last axis
        shape[-1] = shape[1] = max(2, shape[1])
    if kind == "batch_channels":  # a 1-D slope of C values, C also the batch size
        shape[0] = shape[1] = max(2, shape[1])
    if kind == "scalar":
        slope_shape: list[int] = []
    elif kind == "one":
        slope_shape = [1]
    elif kind in ("last_axis", "last_axis_channels"):
        slope_shape = [shape[-1]]
    elif kind in ("channels", "batch_channels"):
        slope_shape = [shape[1]]
    elif kind == "per_channel":
        slope_shape = [shape[1]] + [1] * (rank - 2)
    elif kind == "full":
        slope_shape = list(shape)
    else:  # trailing: X's last axes, some of them 1
        start = d("slope_start", st.integers(0, rank))
        ones = d("slope_ones", st.lists(st.booleans(), min_size=rank - start, max_size=rank - start))
        slope_shape = [1 if one else s for s, one in zip(shape[start:], ones)]
    X = _input(d, "X", shape, dtype)
    slope = _input(d, "slope", slope_shape, dtype) if np.dtype(dtype).kind in "iu" else \
        np.asarray(float_array(d, "slope", slope_shape, dtype))
    return Case("PRelu", {"X": X, "slope": slope}, {}, opset=opset, draws=d.record)


CLIP_BOUNDS = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)
CLIP_INTEGERS = ("int8", "uint8", "int32", "int64", "uint64")


@st.composite
def clip_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    """Clip at opset 6 (min/max attributes) and 11-13 (min/max inputs, each possibly omitted), with
    bounds at the input's scale, inputs equal to the bounds, and min > max from opset 13 on."""
    d = Draws(draw, pins)
    opset = d("opset", st.sampled_from((6, 11, 12, 13, 13)))
    dtype = d("dtype", st.sampled_from(FLOAT_DTYPES + (CLIP_INTEGERS if opset >= 12 else ())))
    shape = _shape(d, (0, 1, 2, 2, 3, 4), INPUT_BUDGET)
    has_min, has_max = d("has_min", st.booleans()), d("has_max", st.booleans())
    integer = np.dtype(dtype).kind in "iu"
    if integer:
        info = np.iinfo(dtype)
        low, high = max(int(info.min), -100), min(int(info.max), 100)
        values = d("bounds", st.lists(st.integers(low, high), min_size=2, max_size=2))
    else:
        scale = d("bounds_scale", st.sampled_from((0.1, 1.0, 10.0, 1000.0) if dtype != "float16" else (0.1, 1.0, 10.0)))
        values = [v * scale for v in d("bounds", st.lists(st.sampled_from(CLIP_BOUNDS), min_size=2, max_size=2))]
    crossed = opset >= 13 and has_min and has_max and d("crossed", st.booleans())
    low_value, high_value = (max(values), min(values)) if crossed else (min(values), max(values))
    if crossed and low_value == high_value:
        low_value = high_value + (1 if integer else abs(high_value) + 1.0)
    X = _input(d, "input", shape, dtype, [low_value, high_value])
    if integer:
        X = _with_specials(d, "input", X, [low_value, high_value])
    if opset < 11:
        attributes = _attributes(min=f32(low_value) if has_min else None, max=f32(high_value) if has_max else None)
        return Case("Clip", {"input": X}, attributes, opset=opset, draws=d.record)
    inputs = {"input": X,
              "min": np.asarray(low_value).astype(dtype) if has_min else None,
              "max": np.asarray(high_value).astype(dtype) if has_max else None}
    if not has_max:
        inputs.pop("max")
        if not has_min:
            inputs.pop("min")
    return Case("Clip", inputs, {}, opset=opset, draws=d.record)


def _softmax_family_cases(op_type: str):
    @st.composite
    def cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
        d = Draws(draw, pins)
        opset = d("opset", st.sampled_from((11, 13)))
        dtype = d("dtype", st.sampled_from(FLOAT_DTYPES))
        budget = FLOAT16_SOFTMAX_BUDGET if dtype == "float16" else INPUT_BUDGET
        shape = _shape(d, (1, 2, 3, 3, 4), budget, widest=10)
        rank = len(shape)
        # Opset 11's default axis is 1, out of range at rank 1: there the axis must be given.
        may_omit = opset >= 13 or rank >= 2
        in_range = st.integers(-rank, rank - 1)
        axis = d("axis", st.one_of(st.none(), in_range) if may_omit else in_range)
        specials = [7.0, -7.0] if op_type == "Hardmax" else []
        X = _input(d, "input", shape, dtype, specials)
        return Case(op_type, {"input": X}, _attributes(axis=axis), opset=opset, draws=d.record)

    cases.__name__ = cases.__qualname__ = f"{op_type.lower()}_cases"
    return cases


# -- Features ------------------------------------------------------------------------------------


def _first(case: Case) -> np.ndarray:
    return next(iter(case.inputs.values()))


def _common_features(case: Case) -> dict[str, Any]:
    X = _first(case)
    floating = X.dtype.kind == "f"
    magnitude = float(np.abs(X.astype(np.float64)).max()) if X.size else 0.0
    return {
        "dtype": str(X.dtype),
        "integer": not floating,
        "opset": case.opset,
        "rank": X.ndim,
        "size": int(X.size),
        "max_abs_input": magnitude,
        "min_input": float(X.min()) if X.size else 0.0,
        "max_input": float(X.max()) if X.size else 0.0,
        # Where exp(x) overflows the dtype: a guardless formula breaks here.
        "exp_overflow_range": floating and magnitude > overflow_threshold(X.dtype),
        "has_negative": bool((X < 0).any()),
        "has_zero": bool((X == 0).any()),
    }


def _alpha_features(case: Case) -> dict[str, Any]:
    features = _common_features(case)
    alpha = case.attributes.get("alpha")
    features["alpha_given"] = alpha is not None
    features["alpha"] = float(alpha) if alpha is not None else "default"
    return features


def leaky_relu_features(case: Case) -> dict[str, Any]:
    features = _alpha_features(case)
    alpha = act.leaky_relu_alpha(case.attributes.get("alpha"))
    features["alpha_above_one"] = alpha > 1
    features["alpha_negative"] = alpha < 0
    return features


def selu_features(case: Case) -> dict[str, Any]:
    features = _alpha_features(case)
    features["gamma_given"] = "gamma" in case.attributes
    features["default_constants"] = not features["alpha_given"] and not features["gamma_given"]
    return features


def hard_sigmoid_features(case: Case) -> dict[str, Any]:
    features = _alpha_features(case)
    X = _first(case).astype(np.float64)
    alpha, beta = act.hard_sigmoid_parameters(case.attributes.get("alpha"), case.attributes.get("beta"))
    v = alpha * X + beta
    features["beta_given"] = "beta" in case.attributes
    features["linear_region"] = bool(((v > 0) & (v < 1)).any())
    features["at_kink"] = bool(((v == 0) | (v == 1)).any())
    return features


def hard_swish_features(case: Case) -> dict[str, Any]:
    features = _common_features(case)
    X = _first(case).astype(np.float64)
    features["linear_region"] = bool(((X > -3) & (X < 3) & (X != 0)).any())
    features["at_kink"] = bool((np.abs(X) == 3).any())
    return features


def gelu_features(case: Case) -> dict[str, Any]:
    features = _common_features(case)
    approximate = case.attributes.get("approximate")
    features["approximate"] = approximate if approximate is not None else "default"
    features["tanh"] = approximate == "tanh"
    return features


def thresholded_relu_features(case: Case) -> dict[str, Any]:
    features = _alpha_features(case)
    X = _first(case)
    alpha = act.thresholded_relu_alpha(case.attributes.get("alpha"))
    features["x_equals_alpha"] = bool((X.astype(np.float64) == alpha).any())
    return features


def prelu_features(case: Case) -> dict[str, Any]:
    features = _common_features(case)
    X, slope = case.inputs["X"], case.inputs["slope"]
    features["slope_rank"] = slope.ndim
    features["slope_size"] = int(slope.size)
    features["slope_kind"] = case.draws.get("slope_kind", "")
    features["broadcast"] = slope.shape != X.shape
    # A 1-D slope read per channel (axis 1) or along the last axis gives different answers.
    features["channel_and_last_axis_differ"] = (
        X.ndim >= 3 and slope.ndim == 1 and slope.size > 1 and X.shape[1] == X.shape[-1] == slope.size
    )
    # A 1-D slope whose length is the size of several of X's axes: its length alone names no axis.
    features["slope_length_repeated"] = slope.ndim == 1 and slope.size > 1 and list(X.shape).count(slope.size) > 1
    return features


def clip_features(case: Case) -> dict[str, Any]:
    features = _common_features(case)
    low, high = _clip_bounds(case)
    features["min_given"] = low is not None
    features["max_given"] = high is not None
    features["attribute_bounds"] = case.opset < 11
    features["crossed"] = low is not None and high is not None and low > high
    X = case.inputs["input"].astype(np.float64)
    features["input_at_bound"] = bool(any(b is not None and (X == b).any() for b in (low, high)))
    return features


def softmax_features(case: Case) -> dict[str, Any]:
    features = _common_features(case)
    X = case.inputs["input"]
    axis_given = "axis" in case.attributes
    axis = act.normalized_axis(case.attributes.get("axis"), X.ndim, case.opset)
    features["axis"] = axis
    features["axis_given"] = axis_given
    features["negative_axis"] = axis_given and case.attributes["axis"] < 0
    features["coerced"] = case.opset < 13
    # Whether opset 11's definition (2-D coercion, default axis 1) and opset 13's (one axis, default
    # -1) normalize over different axes here (axes of size 1 do not count).
    features["definitions_differ"] = normalized_axes(X.shape, case.attributes.get("axis"), 11) != \
        normalized_axes(X.shape, case.attributes.get("axis"), 13)
    features["row_length"] = int(np.prod(X.shape[axis:])) if case.opset < 13 else X.shape[axis]
    R, _, M = act.softmax_rows(X.astype(np.float64), case.attributes.get("axis"), case.opset)
    features["ties"] = bool(((R == M).sum(axis=1) > 1).any())
    # Where the softmax is below the dtype's smallest normal number: log(softmax) loses it or gives -inf.
    features["softmax_underflow"] = bool((R - M).min() < math.log(float(np.finfo(X.dtype).tiny)))
    return features


def normalized_axes(shape: Sequence[int], axis: int | None, opset: int) -> set[int] | None:
    """The axes (of size > 1) one softmax-family row spans under ``opset``'s definition; None if the
    axis is out of range there."""
    try:
        first = act.normalized_axis(axis, len(shape), opset)
    except ValueError:
        return None
    spanned = range(first, len(shape)) if opset < 13 else (first,)
    return {i for i in spanned if shape[i] > 1}


def _clip_bounds(case: Case):
    if case.opset < 11:
        return case.attributes.get("min"), case.attributes.get("max")
    values = [case.inputs.get(name) for name in ("min", "max")]
    return tuple(None if v is None else v.item() for v in values)


# -- Bounds --------------------------------------------------------------------------------------

ErrorModel = Callable[[np.ndarray, np.ndarray, Case, frozenset, float, float], np.ndarray]


def _derived(error: ErrorModel, summary: str) -> Derived:
    """A Derived tolerance from ``error(x, y, case, variants, u, tiny)``: the backend's rounding
    errors in the input dtype plus the float64 reference's own (the same model at u = 2^-53)."""

    def bounds(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
        x = _first(case)
        if x.dtype.kind in "iu":
            return [0.0]
        chosen = frozenset(variants)
        (y,) = reference.evaluate(case.op_type, list(case.inputs.values()), case.attributes, chosen, case.opset)
        x = x.astype(np.float64)
        tiny = float(np.finfo(case.dtype).tiny)
        with np.errstate(all="ignore"):
            total = error(x, y, case, chosen, unit_roundoff(case.dtype), tiny)
            total = total + error(x, y, case, chosen, unit_roundoff(FLOAT64), float(np.finfo(FLOAT64).tiny))
            total = total + flushed(y, tiny)
        return [np.broadcast_to(np.where(np.isnan(total), np.inf, total), np.shape(y))]

    return Derived(bounds, summary)


def flushed(y: np.ndarray, tiny: float) -> np.ndarray:
    """Flush-to-zero (and denormals-are-zero) arithmetic may return 0 for a result below tiny, or
    read a subnormal input as 0: tiny where the exact result is subnormal, 0 elsewhere."""
    return np.where(np.abs(y) < tiny, tiny, 0.0)


def selection_bound(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray | float]:
    """Exact (the output is one of the inputs), except that a subnormal result may be flushed to 0."""
    x = _first(case)
    if x.dtype.kind in "iu":
        return [0.0]
    (y,) = reference.evaluate(case.op_type, list(case.inputs.values()), case.attributes, variants, case.opset)
    return [flushed(y, float(np.finfo(x.dtype).tiny))]


def leaky_relu_error(x, y, case, variants, u, tiny):
    """x < 0: y = fl(fl_T(alpha) * x): alpha rounded to T, one product: gamma_2 |y|. x >= 0: exact."""
    return np.where(x < 0, rounds(2, u) * np.abs(y) + tiny, 0.0)


def prelu_error(x, y, case, variants, u, tiny):
    """x < 0: y = fl(slope * x), slope already in T: one product, gamma_1 |y|. x >= 0: exact."""
    return np.where(x < 0, rounds(1, u) * np.abs(y) + tiny, 0.0)


def elu_error(x, y, case, variants, u, tiny):
    """x < 0: y = alpha (e^x - 1).

    As written, fl(alpha * fl(fl(exp x) - 1)): exp's error is e_exp e^x, the subtraction u|e^x - 1|,
    alpha's rounding and the product 2u: |alpha| e_exp e^x + 3u|y|. With expm1: (e_expm1 + 2u)|y|.
    Both: |alpha| e_exp e^x + (e_expm1 + 3u)|y| + 2 tiny. x >= 0: exact.
    """
    alpha = act.elu_alpha(case.attributes.get("alpha"), variants)
    negative = np.minimum(x, 0.0)
    error = (abs(alpha) * library("exp", u) * np.exp(negative) + (library("expm1", u) + rounds(3, u)) * np.abs(y)
             + 2 * tiny)
    return np.where(x < 0, error, 0.0)


def selu_error(x, y, case, variants, u, tiny):
    """x > 0: y = gamma x: gamma's rounding and the product, gamma_2 |y| + tiny (a tiny x underflows).

    x <= 0: y = gamma (alpha e^x - alpha). As written: exp e_exp and the product alpha e^x (u) on
    |gamma alpha| e^x; the subtraction, alpha's and gamma's roundings and the last product 4u|y|.
    With expm1 (gamma alpha expm1(x), TensorFlow's form): (e_expm1 + 3u)|y|. Both, plus 3 tiny.
    """
    alpha, gamma_ = act.selu_parameters(case.attributes.get("alpha"), case.attributes.get("gamma"), variants)
    negative = np.minimum(x, 0.0)
    error = (abs(gamma_ * alpha) * (library("exp", u) + rounds(1, u)) * np.exp(negative)
             + (library("expm1", u) + rounds(4, u)) * np.abs(y) + 3 * tiny)
    return np.where(x > 0, rounds(2, u) * np.abs(y) + tiny, error)


def celu_error(x, y, case, variants, u, tiny):
    """x < 0 (alpha > 0): y = alpha (e^z - 1), z = x / alpha.

    z's rounding and alpha's rounding (which enters z and the factor) move y by up to
    2u |x| e^z (dy/dz = alpha e^z); then as Elu with z: |alpha| e_exp e^z + (e_expm1 + 4u)|y|,
    plus 4 tiny. x >= 0: y = x + 0 exactly (min(0, .) of a positive or overflowing term is 0).
    """
    alpha = act.celu_alpha(case.attributes.get("alpha"))
    z = np.minimum(x / alpha, 0.0)
    error = (rounds(2, u) * np.abs(x) * np.exp(z) + abs(alpha) * library("exp", u) * np.exp(z)
             + (library("expm1", u) + rounds(4, u)) * np.abs(y) + 4 * tiny)
    return np.where(x < 0, error, 0.0)


def sigmoid_error(x, y, case, variants, u, tiny):
    """y = 1 / (1 + t), t = e^-x (or e^x / (1 + e^x) for x < 0).

    exp's relative error e_exp moves y by e_exp t / (1 + t) = e_exp (1 - y) relative; the sum and
    the division (2.5 ulp) add u + e_div: |y| (e_exp (1 - y) + u + e_div) + tiny. Relative, also
    in the left tail: the spec's formula keeps y's relative accuracy there (1 / (1 + huge)), so a
    backend that is only absolutely accurate (|error| < u) for very negative x fails.
    """
    return np.abs(y) * (library("exp", u) * (1 - y) + rounds(1, u) + library("div", u)) + tiny


def _clamped_error(v, error_v):
    """The error of clamp(v, 0, 1) given an error bound on v: none where v is clamped beyond reach."""
    return np.where((v > -error_v) & (v < 1 + error_v), error_v, 0.0)


def hard_sigmoid_error(x, y, case, variants, u, tiny):
    """v = alpha x + beta: alpha's rounding and the product (2u|alpha x|), beta's rounding (u|beta|),
    the sum (u|v|); clamping to [0, 1] is exact and 1-Lipschitz, and exact wherever v is beyond the
    clamp by more than its error. Keras 3's relu6(x + 3) / 6 for alpha = 1/6 rounds within this."""
    alpha, beta = act.hard_sigmoid_parameters(case.attributes.get("alpha"), case.attributes.get("beta"), variants)
    v = alpha * x + beta
    error_v = rounds(2, u) * np.abs(alpha * x) + rounds(1, u) * abs(beta) + rounds(1, u) * np.abs(v)
    return _clamped_error(v, error_v) + tiny


def hard_swish_error(x, y, case, variants, u, tiny):
    """y = x h, h = clamp(v, 0, 1), v = x/6 + 1/2: v's error is 2u|x|/6 (1/6 rounded, the product) +
    u|v| (the sum; 1/2 is exact), passed to h where v is within reach of (0, 1); then x h: |x| e_h
    plus the product and a division by 6 (x * relu6(x + 3) / 6, Keras's order): gamma_2 |y|."""
    alpha = act.hard_swish_alpha(variants)
    v = alpha * x + 0.5
    error_h = _clamped_error(v, rounds(2, u) * np.abs(alpha * x) + rounds(1, u) * np.abs(v))
    return np.abs(x) * error_h + rounds(2, u) * np.abs(y) + tiny


def tanh_error(x, y, case, variants, u, tiny):
    """tanh is perfectly conditioned (|x tanh'(x) / tanh(x)| <= 1), so its only error is the
    library's: e_tanh |y| + tiny, relative also near 0, where tanh(x) ~ x."""
    return library("tanh", u) * np.abs(y) + tiny


def _softplus_error(x, u):
    """The error of softplus(x) = log(1 + e^x), tiny floor excluded.

    As written: exp's error e_exp e^x reaches y as e_exp sigma(x) (d log(1 + t) = dt / (1 + t)); the
    sum 1 + e^x rounds by u relative, which log turns into an absolute u; log itself e_log |y|.
    Stable, max(x, 0) + log1p(e^-|x|): e_exp min(sigma, 1 - sigma) + (e_log1p + u)|y|. Both.
    """
    y = np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
    relative = library("log", u) + library("log1p", u) + rounds(1, u)
    return library("exp", u) * act.sigmoid(x) + rounds(1, u) + relative * y


def softplus_error(x, y, case, variants, u, tiny):
    """See _softplus_error; plus tiny. An exp that overflows (log(exp(x) + 1) for x > ln(max)) is inf."""
    return _softplus_error(x, u) + tiny


def softsign_error(x, y, case, variants, u, tiny):
    """y = x / (1 + |x|): the sum (u) and the division (e_div): (u + e_div)|y| + tiny."""
    return (rounds(1, u) + library("div", u)) * np.abs(y) + tiny


def gelu_error(x, y, case, variants, u, tiny):
    """Exact: y = 0.5 x (1 + erf(z)), z = x / sqrt(2).

    z: the constant's rounding and the product, 2u|z|, moved by erf' = 2/sqrt(pi) e^-z^2; erf (or
    erfc, for the stable 0.5 x erfc(-z)) e_erf on |erf z| + |1 + erf z|; the sum u|1 + erf z|; 0.5 x
    is exact; the product u|y|: 0.5|x| (e_erf (|erf z| + |1 + erf z|) + 2u |z| 2/sqrt(pi) e^-z^2 +
    u |1 + erf z|) + u|y| + 3 tiny.

    tanh: y = 0.5 x (1 + tanh(t)), t = c (x + a), a = 0.044715 x^3, c = sqrt(2/pi). a: x^3 by two
    products or pow (16 ulp), the constant and the product: (e_pow + 2u)|a|; x + a and c's rounding
    and product, in either order (x (1 + 0.044715 x^2) too): 4u|t|. So t is within
    (e_pow + 2u)|c a| + 4u|t|, moved by tanh' = 1 - tanh^2; tanh e_tanh|tanh t|; the sum
    u|1 + tanh t|; the product u|y|. Evaluated as x sigmoid(2t) = x / (1 + exp(-2t)) (a stable
    rewriting): exp's error e_exp exp(-2t) moves the denominator by e_exp (1 - s) relative, s =
    sigmoid(2t); the sum and the division u + e_div; t's error 2 (1 - s) relative. Near x = 0 that
    is some e_exp / 2 relative where the tanh form's error vanishes with tanh t, so the bound is the
    larger of the two.
    """
    if act.gelu_uses_tanh(case.attributes.get("approximate"), variants):
        c = math.sqrt(2 / math.pi)
        a = act.GELU_TANH_COEFFICIENT * x**3
        t = c * (x + a)
        th = np.tanh(t)
        error_t = (library("pow", u) + rounds(2, u)) * np.abs(c * a) + rounds(4, u) * np.abs(t)
        inner = library("tanh", u) * np.abs(th) + (1 - th**2) * error_t + rounds(1, u) * np.abs(1 + th)
        tanh_form = 0.5 * np.abs(x) * inner + rounds(1, u) * np.abs(y)
        s = 0.5 * (1 + th)
        sigmoid_form = np.abs(y) * (library("exp", u) * (1 - s) + rounds(1, u) + library("div", u)
                                    + 2 * (1 - s) * error_t)
        return np.maximum(tanh_form, sigmoid_form) + 3 * tiny
    z = x / math.sqrt(2)
    e = special.erf(z)
    one_plus = special.erfc(-z)
    derivative = (2 / math.sqrt(math.pi)) * np.exp(-z * z)
    inner = (library("erf", u) * (np.abs(e) + one_plus) + rounds(2, u) * np.abs(z) * derivative
             + rounds(1, u) * one_plus)
    return 0.5 * np.abs(x) * inner + rounds(1, u) * np.abs(y) + 3 * tiny


def mish_error(x, y, case, variants, u, tiny):
    """y = x tanh(s), s = softplus(x) within e_s (see _softplus_error): tanh e_tanh|tanh s| plus
    (1 - tanh^2 s) e_s, times |x|; the product u|y|; plus 2 tiny."""
    s = np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
    th = np.tanh(s)
    inner = library("tanh", u) * th + (1 - th**2) * _softplus_error(x, u)
    return np.abs(x) * inner + rounds(1, u) * np.abs(y) + 2 * tiny


def thresholded_relu_bound(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """Exact, except where rounding alpha (a float32 attribute) to a narrower T flips x > alpha:
    there either x or 0 is a correct answer (one rounding of the attribute); and a subnormal result
    may be flushed to 0."""
    x = _first(case)
    alpha = act.thresholded_relu_alpha(case.attributes.get("alpha"))
    rounded = float(np.asarray(alpha).astype(x.dtype))
    xs = x.astype(np.float64)
    flips = (xs > alpha) != (xs > rounded)
    if "threshold_inclusive" in frozenset(variants):
        flips |= (xs >= alpha) != (xs >= rounded)
    return [np.where(flips, np.abs(xs), selection_bound(case, variants)[0])]


def clip_bound(case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
    """Exact (a selection), except that opset 6's float32 min/max attributes must be rounded to a
    narrower T first (an output at, or moved across, a bound may be off by that rounding), and
    that a subnormal result may be flushed to 0."""
    x = _first(case)
    flush = selection_bound(case, variants)[0]
    if case.opset >= 11 or x.dtype.kind in "iu":
        return [flush]
    slack = 0.0
    for bound in _clip_bounds(case):
        if bound is not None:
            slack = max(slack, abs(bound - float(np.asarray(bound).astype(x.dtype))))
    return [flush + slack]


def _softmax_terms(case: Case, variants: frozenset, u: float):
    """Rows of the input (as the chosen semantics lays them out) and the stable algorithm's terms:
    (x - max), the softmax s, the row sums S of e^(x - max), and the relative error of S."""
    X = _first(case).astype(np.float64)
    R, shape, M = act.softmax_rows(X, case.attributes.get("axis"), case.opset, variants)
    n = R.shape[1]
    D = R - M
    E = np.exp(D)
    S = E.sum(axis=1, keepdims=True)
    s = E / S
    # Each e^(x_j - max) is off by e_exp (the library) and |x_j - max| times the subtraction's u
    # (exp's condition number is its argument); the sum of n positive terms adds gamma_{n-1}.
    term = library("exp", u) + rounds(2, u) * np.abs(D)
    relative_sum = rounds(n - 1, u) + (s * term).sum(axis=1, keepdims=True)
    return R, shape, n, M, D, S, s, term, relative_sum


def softmax_error(x, y, case, variants, u, tiny):
    """y_i = e_i / S, e_i = exp(x_i - max), S = sum_j e_j (the max subtracted).

    e_i is within (e_exp + 2u|x_i - max|) relative (the subtraction's rounding, magnified by exp's
    condition |x_i - max|; 2u allows a max taken in steps); S within gamma_{n-1} plus the softmax-
    weighted average of the e_j errors; the division (or a reciprocal and a product) e_div:
    |y_i| (e_exp + 2u|d_i| + rel(S) + e_div) + (n + 2) tiny. Without the max subtracted (the
    variant), the terms have no |d| part but may underflow: + (n + 2) tiny / S.
    """
    R, shape, n, M, D, S, s, term, relative_sum = _softmax_terms(case, variants, u)
    y_rows = y.reshape(R.shape)
    if "max_not_subtracted" in variants:
        _, S_naive = act.naive_exp_sums(R, act.working_dtype(_first(case)))
        relative = 2 * library("exp", u) + rounds(n - 1, u) + library("div", u)
        error = np.abs(y_rows) * relative + (n + 2) * tiny * (1 + 1 / S_naive)
    else:
        error = np.abs(y_rows) * (term + relative_sum + library("div", u)) + (n + 2) * tiny
    return error.reshape(shape)


def log_softmax_error(x, y, case, variants, u, tiny):
    """y_i = d_i - log S, d_i = x_i - max, S = sum_j exp(d_j) in [1, n].

    d_i rounds by u|d_i|; S is within rel(S) (see softmax_error), which log turns into an absolute
    rel(S); log adds e_log log S; the subtraction u|y_i|. PyTorch's order, x_i - (max + log S),
    rounds max + log S instead: u|max + log S|. Both: u|d_i| + u|max + log S| + e_log log S +
    rel(S) + u|y_i| + (n + 2) tiny.

    Variants: log(softmax) rounded to T gives -inf where the softmax underflows; its error is
    softmax's relative error plus e_log|y|, plus (n + 2) tiny / s_i from the underflow. Without the
    max, x_i - log(sum exp x_j): u|x_i| + e_log|log S| + rel(S) + (n + 2) tiny / S + u|y_i|.
    """
    R, shape, n, M, D, S, s, term, relative_sum = _softmax_terms(case, variants, u)
    y_rows = y.reshape(R.shape)
    L = np.log(S)
    if "log_of_softmax" in variants:
        error = (term + relative_sum + library("div", u) + library("log", u) * np.abs(y_rows)
                 + (n + 2) * tiny / np.maximum(s, np.finfo(np.float64).tiny))
    elif "max_not_subtracted" in variants:
        _, S_naive = act.naive_exp_sums(R, act.working_dtype(_first(case)))
        error = (rounds(1, u) * np.abs(R) + library("log", u) * np.abs(np.log(S_naive)) + rounds(n - 1, u)
                 + library("exp", u) + (n + 2) * tiny / S_naive + rounds(1, u) * np.abs(y_rows))
    else:
        error = (rounds(1, u) * (np.abs(D) + np.abs(M + L) + np.abs(y_rows)) + library("log", u) * L + relative_sum
                 + (n + 2) * tiny)
    return error.reshape(shape)


# -- Declarations --------------------------------------------------------------------------------

COMMON_CORNERS = ("dtype=float32", "dtype=float16", "dtype=float64", "rank=0", "rank=4",
                  "exp_overflow_range", "has_zero", "has_negative")


def _declaration(op_type: str, summary: str, cases, tolerance, features, corners: Sequence[str] = ()) -> OpDeclaration:
    return OpDeclaration(op_type=op_type, summary=summary, cases=cases, tolerance=tolerance, features=features,
                         corners=tuple(corners))


def _softmax_corners(extra: Sequence[str] = ()) -> tuple[str, ...]:
    return ("opset=11", "opset=13", "definitions_differ", "definitions_differ=False", "axis_given", "axis_given=False",
            "negative_axis", "rank=1", "rank=4", "dtype=float32", "dtype=float16", "dtype=float64",
            "exp_overflow_range", *extra)


DECLARATIONS = (
    _declaration("Relu", "max(0, x), floats and integers", _unary_case("Relu", integer_dtypes=SIGNED),
                 Derived(selection_bound, "exact; a subnormal result may be flushed to 0"), _common_features,
                 COMMON_CORNERS + ("integer", "dtype=int8", "dtype=int64")),
    _declaration("LeakyRelu", "alpha * x for x < 0 (alpha defaults to 0.01)",
                 _unary_case("LeakyRelu", attributes=leaky_relu_attributes),
                 _derived(leaky_relu_error, "x<0: gamma_2 |y| (alpha rounded to T, one product); else exact"),
                 leaky_relu_features, COMMON_CORNERS + ("alpha_given", "alpha_given=False", "alpha_above_one",
                                                        "alpha_negative")),
    _declaration("PRelu", "slope * x for x < 0: opsets 6 (a slope of size 1, or one per channel: a reading),"
                 " 7, 9 and 16 (slope broadcast unidirectionally; integers from 9)", prelu_cases,
                 _derived(prelu_error, "x<0: gamma_1 |y| (one product); else exact"), prelu_features,
                 COMMON_CORNERS + ("integer", "broadcast", "broadcast=False", "channel_and_last_axis_differ",
                                   "slope_kind=scalar", "slope_kind=per_channel", "slope_kind=channels",
                                   "slope_length_repeated", "opset=6", "opset=7",
                                   "opset=9", "opset=16")),
    _declaration("Elu", "alpha * (exp(x) - 1) for x < 0", _unary_case("Elu", attributes=elu_attributes),
                 _derived(elu_error, "x<0: |alpha| e_exp e^x + (e_expm1 + 3u)|y| (exp(x) - 1 or expm1)"),
                 _alpha_features, COMMON_CORNERS + ("alpha_given", "alpha_given=False")),
    _declaration("Selu", "gamma * (alpha * exp(x) - alpha) for x <= 0, gamma * x elsewhere",
                 _unary_case("Selu", attributes=selu_attributes),
                 _derived(selu_error, "x>0: gamma_2 |y|; x<=0: |gamma alpha|(e_exp + u) e^x + (e_expm1 + 4u)|y|"),
                 selu_features, COMMON_CORNERS + ("alpha_given", "gamma_given", "default_constants")),
    _declaration("Celu", "max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
                 _unary_case("Celu", attributes=celu_attributes),
                 _derived(celu_error, "x<0: 2u|x|e^z + |alpha| e_exp e^z + (e_expm1 + 4u)|y|, z = x/alpha"),
                 _alpha_features, COMMON_CORNERS + ("alpha_given", "alpha_given=False")),
    _declaration("Sigmoid", "1 / (1 + exp(-x))", _unary_case("Sigmoid"),
                 _derived(sigmoid_error, "|y| (e_exp (1 - y) + u + e_div): relative, in both tails"),
                 _common_features, COMMON_CORNERS),
    _declaration("HardSigmoid", "max(0, min(1, alpha * x + beta)) (alpha 0.2, beta 0.5 by default)",
                 _unary_case("HardSigmoid", specials=hard_sigmoid_specials, attributes=hard_sigmoid_attributes),
                 _derived(hard_sigmoid_error, "2u|alpha x| + u|beta| + u|v| inside the clamp's reach, else exact"),
                 hard_sigmoid_features, COMMON_CORNERS + ("alpha_given", "alpha_given=False", "beta_given",
                                                          "linear_region", "at_kink")),
    _declaration("HardSwish", "x * max(0, min(1, x / 6 + 1 / 2))",
                 _unary_case("HardSwish", specials=lambda dtype, a: [-3.0, 3.0, -2.5, 2.5]),
                 _derived(hard_swish_error, "|x| (2u|x|/6 + u|v|) inside the clamp's reach + gamma_2 |y|"),
                 hard_swish_features, COMMON_CORNERS + ("linear_region", "at_kink")),
    _declaration("Tanh", "tanh(x)", _unary_case("Tanh", input_name="input"),
                 _derived(tanh_error, "e_tanh |y| (perfectly conditioned)"), _common_features, COMMON_CORNERS),
    _declaration("Softplus", "log(exp(x) + 1)", _unary_case("Softplus"),
                 _derived(softplus_error, "e_exp sigma(x) + u + (e_log + e_log1p + u)|y| (as written or log1p)"),
                 _common_features, COMMON_CORNERS),
    _declaration("Softsign", "x / (1 + |x|)", _unary_case("Softsign", input_name="input"),
                 _derived(softsign_error, "(u + e_div)|y|"), _common_features, COMMON_CORNERS),
    _declaration("Gelu", "0.5 x (1 + erf(x / sqrt(2))), or its tanh approximation",
                 _unary_case("Gelu", attributes=gelu_attributes),
                 _derived(gelu_error, "0.5|x| (e_erf(|erf z| + |1 + erf z|) + 2u|z| erf'(z) + u|1 + erf z|) + u|y|;"
                                      " tanh: tanh' times t's error, e_tanh, sum, product"),
                 gelu_features, COMMON_CORNERS + ("approximate=tanh", "approximate=none", "approximate=default")),
    _declaration("Mish", "x * tanh(softplus(x))", _unary_case("Mish"),
                 _derived(mish_error, "|x| (e_tanh tanh s + (1 - tanh^2 s) e_softplus) + u|y|"),
                 _common_features, COMMON_CORNERS),
    _declaration("ThresholdedRelu", "x for x > alpha, 0 elsewhere (alpha defaults to 1)",
                 _unary_case("ThresholdedRelu", specials=thresholded_relu_specials,
                             attributes=thresholded_relu_attributes),
                 Derived(thresholded_relu_bound, "exact; |x| where rounding alpha to T flips x > alpha"),
                 thresholded_relu_features, COMMON_CORNERS + ("alpha_given", "alpha_given=False", "x_equals_alpha")),
    _declaration("Clip", "min(max, max(x, min)); attributes before opset 11, inputs after", clip_cases,
                 Derived(clip_bound, "exact; opset 6: the rounding of the float32 bounds to T"), clip_features,
                 ("opset=6", "opset=11", "opset=12", "opset=13", "integer", "dtype=float16", "dtype=float64",
                  "min_given", "min_given=False", "max_given", "max_given=False", "crossed", "input_at_bound",
                  "rank=0")),
    _declaration("Softmax", "exp(x) / sum(exp(x)): opset 11 (2-D coercion) and 13 (one axis)",
                 _softmax_family_cases("Softmax"),
                 _derived(softmax_error, "|y| (e_exp + 2u|x - max| + gamma_{n-1} + weighted e_j + e_div) + (n+2) tiny"),
                 softmax_features, _softmax_corners()),
    _declaration("LogSoftmax", "x - max - log(sum(exp(x - max))): opset 11 (2-D coercion) and 13 (one axis)",
                 _softmax_family_cases("LogSoftmax"),
                 _derived(log_softmax_error, "u(|x - max| + |max + log S| + |y|) + e_log log S + rel(S)"),
                 softmax_features, _softmax_corners()),
    _declaration("Hardmax", "1 at the first maximum: opset 11 (2-D coercion) and 13 (one axis)",
                 _softmax_family_cases("Hardmax"), Exact(), softmax_features, _softmax_corners(("ties",))),
)
