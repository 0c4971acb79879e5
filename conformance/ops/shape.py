"""Shape and data movement: Identity, Reshape, Flatten, Squeeze, Unsqueeze, Concat, Split, Transpose, Slice,
Pad, Tile, Expand, ConstantOfShape, DepthToSpace and SpaceToDepth: the cases to draw and the
features that describe them.

These operators move, copy or select values; a correct backend returns them bit for bit, so
every output is judged exactly (``tolerance.Exact``): no rounding-error analysis applies.

Each case draws an opset among those where the operator changed (so inputs that were attributes
in older opsets are certified in both forms), a dtype (float32 mostly, float16, float64, int32,
int64, int8, uint8 and bool: these operators take every type) and small tensors (at most 1024
elements). The strategies lean on the corners where conventions differ: 0 and -1 in Reshape's
shape and allowzero; Flatten's axis at 0, at the rank and negative; Squeeze without axes;
Unsqueeze's negative and unsorted axes; zero-size parts in Concat and Split and uneven
``num_outputs``; Transpose without perm; Slice with negative steps, out-of-range starts and ends
(INT_MAX, INT_MIN, below -dim), negative and unsorted axes, int32 and int64 indices; Pad in every
mode, with the ``axes`` input, negative pads (constant mode) and pads up to the largest each mode
defines; Tile with 0 repeats; Expand with a shorter shape and 1s against larger dimensions;
ConstantOfShape with and without its value (float32 0 by default), of every dtype, empty shapes and
zero dimensions; DepthToSpace/SpaceToDepth in both modes with blocks of 1 to 3.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from onnx import numpy_helper

from conformance.case import Case
from conformance.ops.declaration import OpDeclaration
from conformance.strategies import Draws
from conformance.strategies import built_once as st
from conformance.strategies.tensors import (
    axes_of,
    data_array,
    dtypes,
    int64,
    opset_versions,
    shape_within,
)
from conformance.tolerance import Exact
from reference.reductions import axes_list, normalized_axes
from reference.shape import INT_MAX_VALUES, pad_widths, slice_bounds, split_sizes

BUDGET = 1024
OTHER_DTYPES = ("int32", "int64", "int8", "uint8", "bool")
INT64_MIN, INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def _start(draw, op_type: str, since: int, pins, latest_twice: bool = False) -> tuple[Draws, int, str]:
    d = Draws(draw, pins)
    opsets = opset_versions(op_type, since)
    opset = d("opset", st.sampled_from(opsets + opsets[-1:] * latest_twice))
    return d, opset, d("dtype", dtypes(*OTHER_DTYPES, op_type=op_type, opset=opset))


def _common(case: Case, data: np.ndarray) -> dict[str, Any]:
    return {"opset": case.opset, "dtype": str(data.dtype), "rank": data.ndim, "zero_size": data.size == 0}


def _either_form(opset: int, since: int, name: str, values: list[int], attributes: dict[str, Any],
                 inputs: dict[str, Any]) -> None:
    """``values`` as an attribute before opset ``since``, as an int64 input from then on."""
    if opset < since:
        attributes[name] = values
    else:
        inputs[name] = int64(values)


def _given(case: Case, name: str) -> list[int] | None:
    """A list an older opset took as an attribute and a newer one as an input."""
    if name in case.attributes:
        return axes_list(case.attributes[name])
    value = case.inputs.get(name)
    return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


# -- Reshape ------------------------------------------------------------------------------------


def _factors(n: int) -> list[int]:
    found, p = [], 2
    while p * p <= n:
        while n % p == 0:
            found.append(p)
            n //= p
        p += 1
    return found + ([n] if n > 1 else [])


@st.composite
def reshape_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Reshape", 5, pins)
    rank = d("rank", st.integers(0, 4))
    shape = shape_within(d, "shape", rank, BUDGET, high=6)
    zero_axis = d("zero_axis", st.integers(0, rank - 1)) if rank and d("zero_size", st.integers(0, 7)) == 0 else None
    if zero_axis is not None:
        shape[zero_axis] = 0
    allowzero = d("allowzero", st.sampled_from((None, 0, 1))) if opset >= 14 else None
    literal_zero = zero_axis is not None and bool(allowzero)
    # The target: the input's prime factors shuffled into a new number of dimensions. A zero-size
    # input needs a 0 in the target: literal with allowzero=1, else copied from the input's 0.
    factors = [f for s in shape for f in _factors(s)]
    least = 1 if factors or zero_axis is not None else 0
    if zero_axis is not None and not literal_zero:
        least = zero_axis + 1
    output_rank = d("output_rank", st.integers(least, max(least, 4)))
    target = [1] * output_rank
    order = d("factor_order", st.permutations(range(len(factors)))) if factors else []
    for position, index in enumerate(order):
        target[d(f"factor[{position}]", st.integers(0, output_rank - 1))] *= factors[index]
    if zero_axis is not None:
        target[d("zero_target", st.integers(0, output_rank - 1)) if literal_zero else zero_axis] = 0
    written = list(target)
    if not allowzero:  # 0 copies the input's dimension at that index
        for i, t in enumerate(target):
            if i < rank and t == shape[i] and (t == 0 or d(f"copy[{i}]", st.booleans())):
                written[i] = 0
    inferable = [i for i, w in enumerate(written) if w > 0]
    if zero_axis is None and inferable and d("infer", st.booleans()):  # -1 cannot be inferred from size 0
        written[d("infer_at", st.sampled_from(inferable))] = -1
    attributes = {} if allowzero is None else {"allowzero": allowzero}
    data = data_array(d, "data", shape, dtype)
    return Case("Reshape", {"data": data, "shape": int64(written)}, attributes, opset=opset, draws=d.record)


def reshape_features(case: Case) -> dict[str, Any]:
    data, shape = case.inputs["data"], [int(v) for v in case.inputs["shape"]]
    allowzero = case.attributes.get("allowzero", 0)
    return {
        **_common(case, data),
        "output_rank": len(shape),
        "copies_dimension": 0 in shape and not allowzero,
        "infers_dimension": -1 in shape,
        "allowzero": allowzero,
        "allowzero_given": "allowzero" in case.attributes,
        "literal_zero": 0 in shape and bool(allowzero),
        "to_scalar": not shape,
    }


# -- Identity -----------------------------------------------------------------------------------


@st.composite
def identity_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Identity", 1, pins)
    low = d("low", st.sampled_from((1, 1, 1, 0)))  # now and then an empty tensor
    shape = shape_within(d, "shape", d("rank", st.sampled_from((0, 1, 2, 3, 4, 4, 5))), BUDGET, low=low, high=5)
    return Case("Identity", {"input": data_array(d, "input", shape, dtype)}, opset=opset, draws=d.record)


def identity_features(case: Case) -> dict[str, Any]:
    return _common(case, case.inputs["input"])


# -- Flatten ------------------------------------------------------------------------------------


@st.composite
def flatten_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Flatten", 11, pins)
    rank = d("rank", st.sampled_from((1, 2, 3, 4, 4, 4, 5)))
    shape = shape_within(d, "shape", rank, BUDGET, high=5)
    axis = d("axis", st.sampled_from((None,) + tuple(range(-rank, rank + 1))))
    attributes = {} if axis is None else {"axis": axis}
    return Case("Flatten", {"input": data_array(d, "input", shape, dtype)}, attributes, opset=opset, draws=d.record)


def flatten_features(case: Case) -> dict[str, Any]:
    data = case.inputs["input"]
    axis = case.attributes.get("axis", 1)
    return {
        **_common(case, data),
        "axis_given": "axis" in case.attributes,
        "axis": axis,
        "negative_axis": axis < 0,
        "axis_at_rank": axis == data.ndim,
        # Where reading NCHW data in NHWC order changes the order: several channels and pixels.
        "channels_and_pixels": data.ndim == 4 and data.shape[1] > 1 and data.shape[2] * data.shape[3] > 1,
    }


# -- Squeeze, Unsqueeze -------------------------------------------------------------------------


@st.composite
def squeeze_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Squeeze", 11, pins)
    rank = d("rank", st.integers(1, 5))
    shape = d("shape", st.lists(st.sampled_from((1, 1, 2, 3)), min_size=rank, max_size=rank))
    ones = [i for i, s in enumerate(shape) if s == 1]
    attributes: dict[str, Any] = {}
    inputs: dict[str, Any] = {"data": data_array(d, "data", shape, dtype)}
    if ones and d("axes_given", st.sampled_from((True, True, False))):
        chosen = d("axes", st.lists(st.sampled_from(ones), min_size=1, max_size=len(ones), unique=True))
        flips = d("axes.negative", st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
        _either_form(opset, 13, "axes", [a - rank if f else a for a, f in zip(chosen, flips)], attributes, inputs)
    return Case("Squeeze", inputs, attributes, opset=opset, draws=d.record)


def _one_at_a_time(shape: tuple[int, ...], axes: list[int], change, expected: tuple[int, ...]) -> str:
    """How applying the axes one at a time, in the order given, compares with the specification:
    "same", "different" (another shape) or "invalid" (an axis out of range on the way)."""
    result = np.zeros(shape, dtype=np.int8)
    try:
        for axis in axes:
            result = change(result, axis)
    except (ValueError, IndexError):
        return "invalid"
    return "same" if result.shape == tuple(expected) else "different"


def squeeze_features(case: Case) -> dict[str, Any]:
    data, axes = case.inputs["data"], _given(case, "axes")
    ones = sum(1 for s in data.shape if s == 1)
    expected = [d for i, d in enumerate(data.shape) if i not in {a % data.ndim for a in axes or ()}]
    return {
        **_common(case, data),
        # Squeezing the listed axes one by one in the order given (onnx.reference at opset 11).
        "one_at_a_time": _one_at_a_time(data.shape, axes, np.squeeze, tuple(expected)) if axes else "same",
        "axes_given": axes is not None,
        "axes_form": "attribute" if "axes" in case.attributes else "input" if axes is not None else "absent",
        "negative_axes": bool(axes) and min(axes) < 0,
        "keeps_some_ones": axes is not None and ones > len(axes),
    }


@st.composite
def unsqueeze_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Unsqueeze", 11, pins)
    rank = d("rank", st.integers(0, 4))
    shape = shape_within(d, "shape", rank, BUDGET, high=5)
    count = d("count", st.integers(1, 3))
    axes = axes_of(d, "axes", rank + count, minimum=count, maximum=count)
    attributes: dict[str, Any] = {}
    inputs: dict[str, Any] = {"data": data_array(d, "data", shape, dtype)}
    _either_form(opset, 13, "axes", axes, attributes, inputs)
    return Case("Unsqueeze", inputs, attributes, opset=opset, draws=d.record)


def unsqueeze_features(case: Case) -> dict[str, Any]:
    data, axes = case.inputs["data"], _given(case, "axes")
    output_rank = data.ndim + len(axes)
    positive = [a % output_rank for a in axes]
    expected = [1 if i in positive else 0 for i in range(output_rank)]
    dims = iter(data.shape)
    expected = tuple(1 if e else next(dims) for e in expected)
    return {
        **_common(case, data),
        # Inserting the axes one by one in the order given (onnx.reference at opset 11).
        "one_at_a_time": _one_at_a_time(data.shape, axes, np.expand_dims, expected),
        "axes_form": "attribute" if "axes" in case.attributes else "input",
        "axes_count": len(axes),
        "negative_axes": min(axes) < 0,
        "unsorted_axes": positive != sorted(positive),
    }


# -- Concat, Split --------------------------------------------------------------------------------


@st.composite
def concat_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Concat", 11, pins)
    rank = d("rank", st.integers(1, 4))
    count = d("count", st.sampled_from((1, 2, 2, 3, 4)))
    shape = shape_within(d, "shape", rank, BUDGET // count, high=5)
    axis = d("axis", st.integers(-rank, rank - 1))
    inputs = {}
    for i in range(count):
        part = list(shape)
        part[axis] = d(f"length[{i}]", st.sampled_from((0, 1, 2, 3, 4)) if count > 1 else st.integers(1, 4))
        inputs[f"inputs_{i}"] = data_array(d, f"inputs_{i}", part, dtype)
    return Case("Concat", inputs, {"axis": axis}, opset=opset, draws=d.record)


def concat_features(case: Case) -> dict[str, Any]:
    arrays = list(case.inputs.values())
    axis = case.attributes["axis"]
    return {
        **_common(case, arrays[0]),
        "inputs": len(arrays),
        "negative_axis": axis < 0,
        "empty_part": any(a.shape[axis] == 0 for a in arrays),
        "zero_size": sum(a.size for a in arrays) == 0,
    }


def _composition(d: Draws, label: str, total: int, parts: int) -> list[int]:
    """``parts`` non-negative sizes that sum to ``total`` (zeros allowed)."""
    cuts = sorted(d(label, st.lists(st.integers(0, total), min_size=parts - 1, max_size=parts - 1)))
    edges = [0, *cuts, total]
    return [b - a for a, b in zip(edges[:-1], edges[1:])]


@st.composite
def split_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Split", 11, pins, latest_twice=True)  # num_outputs: opset 18
    rank = d("rank", st.integers(1, 4))
    axis = d("axis", st.sampled_from((None,) + tuple(range(-rank, rank))))
    forms = ("split", "equal") if opset < 18 else ("split", "num_outputs", "num_outputs")
    form = d("form", st.sampled_from(forms))
    attributes: dict[str, Any] = {} if axis is None else {"axis": axis}
    inputs: dict[str, Any] = {}
    count = d("outputs", st.integers(1, 4) if form != "num_outputs" else st.integers(2, 5))
    if form == "num_outputs":
        # Uneven splits are ceil-sized with a smaller last chunk, numpy.array_split's first chunks
        # are one larger: they part ways from 7 in 3 ([3, 3, 1] against [3, 2, 2]). A length that
        # would leave the last chunk empty (5 in 4) is left out: the specification does not say
        # what happens there.
        lengths = [n for n in range(count, 12) if (count - 1) * -(-n // count) < n]
        differing = [n for n in lengths if n % count not in (0, count - 1)]
        length = d("length", st.sampled_from(lengths + differing))
        attributes["num_outputs"] = count
    elif form == "equal":  # no split: equal parts, as many as the node has outputs
        length = count * d("length/outputs", st.integers(1, 3))
    else:
        length = d("length", st.integers(0, 8))
    shape = shape_within(d, "shape", rank, BUDGET // 11, high=4)
    shape[0 if axis is None else axis] = length
    inputs["input"] = data_array(d, "input", shape, dtype)
    if form == "split":
        _either_form(opset, 13, "split", _composition(d, "cuts", length, count), attributes, inputs)
    outputs = tuple(f"output_{i}" for i in range(count))
    return Case("Split", inputs, attributes, outputs=outputs, opset=opset, draws=d.record)


def split_features(case: Case) -> dict[str, Any]:
    data = case.inputs["input"]
    axis = case.attributes.get("axis", 0)
    split = _given(case, "split")
    length = data.shape[axis]
    count = len(case.outputs)
    sizes = split_sizes(length, split, case.attributes.get("num_outputs"), count)
    return {
        **_common(case, data),
        "form": "split" if split is not None else "num_outputs" if "num_outputs" in case.attributes else "equal",
        "split_form": "attribute" if "split" in case.attributes else "input" if split is not None else "absent",
        "outputs": count,
        "axis_given": "axis" in case.attributes,
        "negative_axis": axis < 0,
        "uneven": "num_outputs" in case.attributes and length % count != 0,
        # Where ceil-sized chunks and numpy.array_split's differ.
        "uneven_unlike_array_split": "num_outputs" in case.attributes and length % count not in (0, count - 1),
        "empty_output": 0 in sizes,
    }


# -- Transpose ----------------------------------------------------------------------------------


@st.composite
def transpose_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Transpose", 1, pins)
    # Rank 0 is valid, but ONNX's shape inference gives its output no shape, which its checker
    # then rejects: ranks from 1.
    rank = d("rank", st.integers(1, 5))
    shape = shape_within(d, "shape", rank, BUDGET, high=5)
    perm = d("perm", st.one_of(st.none(), st.permutations(range(rank)).map(list)))
    attributes = {} if perm is None else {"perm": perm}
    return Case("Transpose", {"data": data_array(d, "data", shape, dtype)}, attributes, opset=opset, draws=d.record)


def transpose_features(case: Case) -> dict[str, Any]:
    data = case.inputs["data"]
    perm = case.attributes.get("perm", list(range(data.ndim))[::-1])
    return {
        **_common(case, data),
        "perm_given": "perm" in case.attributes,
        # perm differs from its inverse: reading it the other way round changes the result.
        "perm_not_involution": list(np.argsort(perm)) != list(perm),
    }


# -- Slice --------------------------------------------------------------------------------------


def _index(d: Draws, label: str, dim: int, index_dtype: str) -> int:
    """A start or end: in range, beyond either end, or the extreme of the index type."""
    info = np.iinfo(index_dtype)
    return d(label, st.one_of(
        st.integers(-dim, dim), st.integers(-dim, dim),
        st.integers(dim + 1, dim + 4), st.integers(-dim - 4, -dim - 1),
        st.sampled_from((int(info.max), int(info.min))),
    ))


@st.composite
def slice_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Slice", 11, pins)
    rank = d("rank", st.integers(1, 4))
    shape = shape_within(d, "shape", rank, BUDGET, high=7)
    index_dtype = d("index_dtype", st.sampled_from(("int64", "int64", "int32")))
    axes_given = d("axes_given", st.booleans())
    axes = axes_of(d, "axes", rank) if axes_given else list(range(d("sliced", st.integers(1, rank))))
    steps_given = d("steps_given", st.booleans())
    starts, ends, steps = [], [], []
    for i, axis in enumerate(axes):
        dim = shape[axis]
        starts.append(_index(d, f"starts[{i}]", dim, index_dtype))
        ends.append(_index(d, f"ends[{i}]", dim, index_dtype))
        steps.append(d(f"steps[{i}]", st.sampled_from((1, 1, 2, 3, -1, -1, -2, -3))) if steps_given else 1)
    inputs: dict[str, Any] = {"data": data_array(d, "data", shape, dtype),
                              "starts": np.asarray(starts, index_dtype), "ends": np.asarray(ends, index_dtype)}
    if axes_given or steps_given:
        inputs["axes"] = np.asarray(axes, index_dtype) if axes_given else None
    if steps_given:
        inputs["steps"] = np.asarray(steps, index_dtype)
    return Case("Slice", inputs, {}, opset=opset, draws=d.record)


def slice_features(case: Case) -> dict[str, Any]:
    data = case.inputs["data"]
    starts, ends = (_given(case, k) for k in ("starts", "ends"))
    axes = _given(case, "axes")
    steps = _given(case, "steps") or [1] * len(starts)
    chosen = list(range(len(starts))) if axes is None else normalized_axes(axes, data.ndim)
    dims = [data.shape[a] for a in chosen]
    backward = [(s, e, dim) for step, s, e, dim in zip(steps, starts, ends, dims) if step < 0]
    return {
        **_common(case, data),
        "index_dtype": str(case.inputs["starts"].dtype),
        "axes_given": axes is not None,
        "negative_axes": bool(axes) and min(axes) < 0,
        "unsorted_axes": bool(axes) and chosen != sorted(chosen),
        "steps_given": case.inputs.get("steps") is not None,
        "negative_step": min(steps) < 0,
        "large_step": max(abs(s) for s in steps) > 1,
        # Slicing backward up to and including element 0 (ends adjusted below 0).
        "negative_step_to_front": any(e + dim < 0 for _, e, dim in backward),
        # Slicing backward from before the first element: ONNX starts at element 0, NumPy at none.
        "backward_start_before_front": any(s < -dim for s, _, dim in backward),
        # Slicing backward to INT_MAX, the forward sentinel: clamped to dim-1, an empty slice.
        "int_max_end_backward": any(e in INT_MAX_VALUES for _, e, _ in backward),
        "out_of_range_index": any(not -dim <= v <= dim for v, dim in zip(starts + ends, dims + dims)),
        "extreme_index": any(abs(v) >= 2**31 - 1 for v in starts + ends),
        "empty_result": 0 in _slice_shape(data.shape, chosen, starts, ends, steps),
    }


def _slice_shape(shape, axes, starts, ends, steps) -> list[int]:
    result = list(shape)
    for axis, start, end, step in zip(axes, starts, ends, steps):
        first, last = slice_bounds(shape[axis], start, end, step)
        result[axis] = len(range(first, last, step))
    return result


# -- Pad ----------------------------------------------------------------------------------------


@st.composite
def pad_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Pad", 11, pins)
    modes = ("constant", "constant", "reflect", "edge") + (("wrap",) if opset >= 19 else ())
    mode = d("mode", st.sampled_from(modes))
    rank = d("rank", st.integers(1, 4))
    shape = shape_within(d, "shape", rank, BUDGET // 4, low=2 if mode == "reflect" else 1, high=5)
    axes = axes_of(d, "axes", rank) if opset >= 18 and d("axes_given", st.booleans()) else None
    padded = list(range(rank)) if axes is None else [a % rank for a in axes]
    begins, ends = [], []
    for i, axis in enumerate(padded):
        dim = shape[axis]
        # The widths each mode defines without repeating itself: reflect < dim, wrap <= dim;
        # constant mode may also remove elements (negative pads).
        low = -(dim // 2) if mode == "constant" else 0
        high = {"reflect": dim - 1, "wrap": dim}.get(mode, 3)
        begins.append(d(f"begin[{i}]", st.integers(low, high)))
        ends.append(d(f"end[{i}]", st.integers(low, high)))
    # constant is the default mode: spelt out or left implicit.
    attributes = {"mode": mode} if mode != "constant" or d("mode_given", st.booleans()) else {}
    inputs: dict[str, Any] = {"data": data_array(d, "data", shape, dtype), "pads": int64(begins + ends)}
    if mode == "constant" and d("constant_value_given", st.booleans()):
        inputs["constant_value"] = np.asarray(data_array(d, "constant_value", [], dtype))
    if axes is not None:
        inputs.setdefault("constant_value", None)
        inputs["axes"] = int64(axes)
    return Case("Pad", inputs, attributes, opset=opset, draws=d.record)


def pad_features(case: Case) -> dict[str, Any]:
    data = case.inputs["data"]
    pads, axes = _given(case, "pads"), _given(case, "axes")
    widths = pad_widths(data.ndim, pads, axes)
    half = len(pads) // 2
    return {
        **_common(case, data),
        "mode": case.attributes.get("mode", "constant"),
        "mode_given": "mode" in case.attributes,
        "axes_given": axes is not None,
        "negative_axes": bool(axes) and min(axes) < 0,
        "constant_value_given": case.inputs.get("constant_value") is not None,
        "negative_pads": min(pads, default=0) < 0,
        "padded": any(b > 0 or e > 0 for b, e in widths),
        "asymmetric_pads": pads[:half] != pads[half:],
        # Pads that reach the last (wrap) or second-to-last (reflect) element on the other side.
        "widest_pads": any(max(b, e) >= d - 1 for (b, e), d in zip(widths, data.shape) if b > 0 or e > 0),
    }


# -- Tile, Expand -------------------------------------------------------------------------------


@st.composite
def tile_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Tile", 6, pins)
    rank = d("rank", st.integers(1, 4))
    shape = shape_within(d, "shape", rank, BUDGET // 16, high=4)
    repeats = d("repeats", st.lists(st.sampled_from((0, 1, 1, 2, 3)), min_size=rank, max_size=rank))
    inputs = {"input": data_array(d, "input", shape, dtype), "repeats": int64(repeats)}
    return Case("Tile", inputs, {}, opset=opset, draws=d.record)


def tile_features(case: Case) -> dict[str, Any]:
    data, repeats = case.inputs["input"], [int(r) for r in case.inputs["repeats"]]
    return {
        **_common(case, data),
        "zero_repeats": 0 in repeats,
        # Tiling and repeating elements differ where an axis of several elements is repeated.
        "repeats_long_axis": any(r > 1 and s > 1 for r, s in zip(repeats, data.shape)),
    }


@st.composite
def expand_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "Expand", 8, pins)
    rank = d("rank", st.integers(0, 4))
    shape = d("shape", st.lists(st.sampled_from((1, 1, 2, 3)), min_size=rank, max_size=rank))
    # The requested shape, right-aligned: longer or shorter than the input; each dimension the
    # input's, 1 (kept from the input), or any size where the input has 1.
    length = d("shape_rank", st.integers(0, 5))
    target = []
    for i in range(length):
        offset = i - (length - rank)
        dim = shape[offset] if offset >= 0 else 1
        target.append(d(f"target[{i}]", st.sampled_from((dim, 1, 2, 3) if dim == 1 else (dim, dim, 1))))
    inputs = {"input": data_array(d, "input", shape, dtype), "shape": int64(target)}
    return Case("Expand", inputs, {}, opset=opset, draws=d.record)


def expand_features(case: Case) -> dict[str, Any]:
    data, target = case.inputs["input"], [int(v) for v in case.inputs["shape"]]
    aligned = [1] * max(0, len(target) - data.ndim) + list(data.shape)
    padded_target = [1] * max(0, data.ndim - len(target)) + target
    return {
        **_common(case, data),
        "shape_shorter": len(target) < data.ndim,
        "shape_longer": len(target) > data.ndim,
        # A 1 in the requested shape against a larger input dimension: numpy.broadcast_to refuses it.
        "one_against_larger": any(t == 1 and a > 1 for t, a in zip(padded_target, aligned)),
        "broadcasts": any(a == 1 and t > 1 for t, a in zip(padded_target, aligned)),
    }


# -- ConstantOfShape ----------------------------------------------------------------------------

# The fill values drawn, by kind of dtype: negative and fractional where the dtype holds them.
FILLS = {"f": (0.0, 1.0, -2.5, 0.1, 65504.0), "i": (0, 1, -2, 7, 127), "u": (0, 1, 2, 7, 255), "b": (True, False)}


@st.composite
def constant_of_shape_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d = Draws(draw, pins)
    opset = d("opset", st.sampled_from(opset_versions("ConstantOfShape", 9)))
    rank = d("rank", st.integers(0, 4))
    shape = d("shape", st.lists(st.sampled_from((0, 1, 2, 3, 4)), min_size=rank, max_size=rank))
    dtype = np.dtype(d("dtype", dtypes(*OTHER_DTYPES)))
    attributes = {}
    # An absent value is float32 0: only a float32 case may leave it out.
    if dtype != np.float32 or d("value_given", st.sampled_from((True, False))):
        fill = np.array([d("value", st.sampled_from(FILLS[dtype.kind]))], dtype=dtype)
        attributes["value"] = numpy_helper.from_array(fill, "value")
    return Case("ConstantOfShape", {"input": int64(shape)}, attributes, outputs=("output",), opset=opset,
                draws=d.record)


def constant_of_shape_features(case: Case) -> dict[str, Any]:
    shape = [int(v) for v in case.inputs["input"]]
    value = case.attributes.get("value")
    fill = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
    return {"opset": case.opset, "dtype": str(fill.dtype), "rank": len(shape), "zero_size": 0 in shape,
            "value_given": value is not None}


# -- DepthToSpace, SpaceToDepth -----------------------------------------------------------------


def _mode(d: Draws, opset: int, since: int) -> dict[str, Any]:
    if opset < since:
        return {}
    mode = d("mode", st.sampled_from((None, "DCR", "CRD", "CRD")))
    return {} if mode is None else {"mode": mode}


@st.composite
def depth_to_space_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "DepthToSpace", 11, pins)
    blocksize = d("blocksize", st.sampled_from((1, 2, 2, 3)))
    depth, n = d("depth", st.integers(1, 3)), d("N", st.integers(1, 2))
    h, w = d("H", st.integers(1, 4)), d("W", st.integers(1, 4))
    shape = [n, depth * blocksize * blocksize, h, w]
    attributes = {"blocksize": blocksize, **_mode(d, opset, 11)}
    inputs = {"input": data_array(d, "input", shape, dtype)}
    return Case("DepthToSpace", inputs, attributes, opset=opset, draws=d.record)


@st.composite
def space_to_depth_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d, opset, dtype = _start(draw, "SpaceToDepth", 1, pins)
    blocksize = d("blocksize", st.sampled_from((1, 2, 2, 3)))
    c, n = d("C", st.integers(1, 3)), d("N", st.integers(1, 2))
    h, w = blocksize * d("H/blocksize", st.integers(1, 3)), blocksize * d("W/blocksize", st.integers(1, 3))
    attributes = {"blocksize": blocksize, **_mode(d, opset, 28)}
    inputs = {"input": data_array(d, "input", [n, c, h, w], dtype)}
    return Case("SpaceToDepth", inputs, attributes, opset=opset, draws=d.record)


def block_features(case: Case) -> dict[str, Any]:
    data = case.inputs["input"]
    blocksize = case.attributes["blocksize"]
    depth = data.shape[1] // blocksize**2 if case.op_type == "DepthToSpace" else data.shape[1]
    return {
        **_common(case, data),
        "mode": case.attributes.get("mode", "DCR"),
        "mode_given": "mode" in case.attributes,
        "blocksize": blocksize,
        # DCR and CRD differ only with blocks and several channels to interleave.
        "modes_differ": blocksize > 1 and depth > 1,
    }


DTYPE_CORNERS = tuple(f"dtype={t}" for t in ("float32", "float16", "float64") + OTHER_DTYPES)


def _declaration(op_type: str, summary: str, cases, features, corners: tuple[str, ...]) -> OpDeclaration:
    return OpDeclaration(op_type=op_type, summary=summary, cases=cases, tolerance=Exact(count=None),
                         features=features, corners=DTYPE_CORNERS + corners)


DECLARATIONS = (
    _declaration("Identity", "the input unchanged (every Keras layer that is the identity at inference)",
                 identity_cases, identity_features, ("rank=0", "zero_size")),
    _declaration("Reshape", "row-major reshape with 0 (copy) and -1 (inferred), allowzero", reshape_cases,
                 reshape_features, ("copies_dimension", "infers_dimension", "literal_zero", "to_scalar",
                                    "allowzero_given", "zero_size", "opset=5", "opset=14")),
    _declaration("Flatten", "to 2-D at axis (negative from opset 11)", flatten_cases, flatten_features,
                 ("axis_given=False", "axis=0", "negative_axis", "axis_at_rank", "channels_and_pixels")),
    _declaration("Squeeze", "remove size-1 axes (axes input from opset 13)", squeeze_cases, squeeze_features,
                 ("axes_form=attribute", "axes_form=input", "axes_form=absent", "negative_axes", "keeps_some_ones",
                  "one_at_a_time=invalid")),
    _declaration("Unsqueeze", "insert size-1 axes at output positions (axes input from opset 13)", unsqueeze_cases,
                 unsqueeze_features, ("axes_form=attribute", "axes_form=input", "negative_axes", "unsorted_axes",
                                      "rank=0", "axes_count=3", "one_at_a_time=different",
                                      "one_at_a_time=invalid")),
    _declaration("Concat", "join along an axis", concat_cases, concat_features,
                 ("inputs=1", "inputs=4", "negative_axis", "empty_part")),
    _declaration("Split", "cut along an axis: split sizes (attribute, then input) or num_outputs (opset 18)",
                 split_cases, split_features,
                 ("form=split", "form=equal", "form=num_outputs", "split_form=attribute", "split_form=input",
                  "uneven", "uneven_unlike_array_split", "empty_output", "negative_axis", "axis_given=False")),
    _declaration("Transpose", "permute axes (reversed without perm)", transpose_cases, transpose_features,
                 ("perm_given=False", "perm_not_involution", "rank=1", "rank=5")),
    _declaration("Slice", "strided slices with clamping, negative steps and axes", slice_cases, slice_features,
                 ("index_dtype=int32", "index_dtype=int64", "axes_given", "negative_axes", "unsorted_axes",
                  "steps_given", "negative_step", "large_step", "negative_step_to_front", "backward_start_before_front",
                  "int_max_end_backward", "out_of_range_index",
                  "extreme_index", "empty_result")),
    _declaration("Pad", "constant, reflect, edge and wrap padding, axes input (opset 18)", pad_cases, pad_features,
                 ("mode=constant", "mode=reflect", "mode=edge", "mode=wrap", "mode_given=False", "axes_given",
                  "negative_axes", "constant_value_given", "constant_value_given=False", "negative_pads",
                  "widest_pads", "asymmetric_pads")),
    _declaration("Tile", "repeat the whole tensor along each axis", tile_cases, tile_features,
                 ("zero_repeats", "repeats_long_axis")),
    _declaration("Expand", "bidirectional broadcast to a shape", expand_cases, expand_features,
                 ("shape_shorter", "shape_longer", "one_against_larger", "broadcasts", "rank=0")),
    _declaration("ConstantOfShape", "a tensor of a given shape, filled with one value (float32 0 by default)",
                 constant_of_shape_cases, constant_of_shape_features,
                 ("value_given=False", "zero_size", "rank=0", "rank=4")),
    _declaration("DepthToSpace", "depth into blocks of space, DCR or CRD", depth_to_space_cases, block_features,
                 ("mode=DCR", "mode=CRD", "mode_given=False", "modes_differ", "blocksize=3", "opset=11")),
    _declaration("SpaceToDepth", "blocks of space into depth (DCR; CRD from opset 28)", space_to_depth_cases,
                 block_features, ("mode=DCR", "mode=CRD", "mode_given=False", "modes_differ", "blocksize=3",
                                  "opset=1")),
)
