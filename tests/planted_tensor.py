"""Planted-bug and benign backends for the reductions and the shape operators.

Planted bugs are written as a backend would commit them: by mangling the call before computing it
with the specification's reference (dropping keepdims, reading pads interleaved, ...) or by
computing the operator the wrong way in plain NumPy (a LogSumExp without the maximum, Keras'
flatten, ``numpy.array_split``, Python's slices), never through the reference's own variants,
so that the diagnosis is tested against an independent implementation. Each applies to the
operators it names and computes every other case correctly.

Benign backends compute correctly with other algorithms: in float64 rounded once, in the input
dtype with NumPy's own (pairwise) reductions, or left to right in the input dtype.

    conformance certify ReduceLogSumExp --backend tests.planted_tensor:LogSumExpWithoutMax
"""

from __future__ import annotations


import numpy as np
import onnx

import reference
from conformance.case import Case
from conformance.errors import Unsupported
from reference.reductions import axes_list, keeps_dims, reduced_axes, reduced_count
from reference.shape import INT_MAX_VALUES, pad_widths

REDUCTIONS = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceLogSumExp", "ReduceSumSquare")


def _outputs(case: Case, outputs) -> list[np.ndarray]:
    """Outputs in the dtypes the model declares, as a backend returns them (rounded once)."""
    return [np.asarray(o).astype(dtype) for o, dtype in zip(outputs, case.output_dtypes)]


def _specified(case: Case, inputs: list | None = None, attributes: dict | None = None) -> list[np.ndarray]:
    """The specification's outputs for the (possibly rewritten) call, rounded once."""
    outputs = reference.evaluate(case.op_type, list(case.inputs.values()) if inputs is None else inputs,
                                 dict(case.attributes) if attributes is None else attributes,
                                 opset=case.opset, output_count=len(case.outputs))
    return _outputs(case, outputs)


class _Planted:
    """A backend that computes ``ops`` with a planted bug (``buggy``) and everything else correctly."""

    name = "planted"
    version = "planted"
    ops: tuple[str, ...] = ()

    def supports(self, op_type: str) -> bool:
        return op_type in reference.OPERATORS

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        if case.op_type in self.ops:
            return self.buggy(case)
        return _specified(case)

    def buggy(self, case: Case) -> list[np.ndarray]:
        raise NotImplementedError


def _axes_of(case: Case) -> list[int] | None:
    return axes_list(case.attributes["axes"]) if "axes" in case.attributes else axes_list(case.inputs.get("axes"))


# -- reductions ---------------------------------------------------------------------------------


class KeepdimsDefaultFalse(_Planted):
    """keepdims absent read as NumPy's and TensorFlow's default, False."""

    name = "planted-keepdims-default-false"
    ops = REDUCTIONS

    def buggy(self, case):
        return _specified(case, attributes={"keepdims": 0, **case.attributes})


class NoopIgnored(_Planted):
    """noop_with_empty_axes dropped: empty or absent axes reduce everything."""

    name = "planted-noop-ignored"
    ops = REDUCTIONS

    def buggy(self, case):
        return _specified(case, attributes={k: v for k, v in case.attributes.items() if k != "noop_with_empty_axes"})


class EmptyAxesReduceNothing(_Planted):
    """An explicitly empty axes input passed to TensorFlow as ``axis=[]``: no reduction at all."""

    name = "planted-empty-axes-reduce-nothing"
    ops = REDUCTIONS

    def buggy(self, case):
        axes = case.inputs.get("axes")
        if axes is not None and axes.size == 0:
            return _specified(case, attributes={**case.attributes, "noop_with_empty_axes": 1})
        return _specified(case)


class NoopSkipsCompositeSteps(_Planted):
    """noop_with_empty_axes returns the input as it is, without ReduceL1's |x| or ReduceSumSquare's x**2."""

    name = "planted-noop-skips-composite-steps"
    ops = ("ReduceL1", "ReduceL2", "ReduceSumSquare")

    def buggy(self, case):
        data = case.inputs["data"]
        if not reduced_axes(data.shape, _axes_of(case), case.attributes.get("noop_with_empty_axes", 0)):
            return [data.copy()]
        return _specified(case)


class LogSumExpWithoutMax(_Planted):
    """log(sum(exp(x))) in the input's precision, without subtracting the maximum first."""

    name = "planted-logsumexp-without-max"
    ops = ("ReduceLogSumExp",)

    def buggy(self, case):
        data = case.inputs["data"]
        axes = reduced_axes(data.shape, _axes_of(case), case.attributes.get("noop_with_empty_axes", 0))
        with np.errstate(over="ignore", divide="ignore"):
            total = np.sum(np.exp(data), axis=axes, keepdims=True, dtype=data.dtype)
            result = np.log(total)
        if not keeps_dims(case.attributes.get("keepdims")):
            result = result.reshape([d for i, d in enumerate(result.shape) if i not in axes])
        return [result.astype(data.dtype)]


# -- shape and data movement ----------------------------------------------------------------------


class FlattenNhwc(_Planted):
    """Keras' Flatten after a channels-last conversion: NCHW data flattened in NHWC order."""

    name = "planted-flatten-nhwc"
    ops = ("Flatten",)

    def buggy(self, case):
        x = case.inputs["input"]
        if x.ndim == 4:
            x = np.transpose(x, (0, 2, 3, 1))
        return _specified(case, inputs=[x])


class FlattenAxisIgnored(_Planted):
    """Everything after the first axis flattened, whatever the axis says (torch.nn.Flatten's default)."""

    name = "planted-flatten-axis-ignored"
    ops = ("Flatten",)

    def buggy(self, case):
        x = case.inputs["input"]
        return [x.reshape(x.shape[0], -1)]


class FlattenNegativeAxisOffByOne(_Planted):
    """A negative axis normalized as ``axis % (rank + 1)``, as for positions in [0, rank]."""

    name = "planted-flatten-negative-axis-off-by-one"
    ops = ("Flatten",)

    def buggy(self, case):
        rank = case.inputs["input"].ndim
        axis = case.attributes.get("axis", 1) % (rank + 1)
        return _specified(case, attributes={"axis": axis})


class SqueezeEverything(_Planted):
    """numpy.squeeze without its axis: every size-1 axis goes."""

    name = "planted-squeeze-everything"
    ops = ("Squeeze",)

    def buggy(self, case):
        return [np.squeeze(case.inputs["data"])]


class UnsqueezeNegativeAxesInInputRank(_Planted):
    """Each negative axis normalized as tf.expand_dims does for one axis (axis + rank + 1), then
    one dimension inserted per axis, in ascending order."""

    name = "planted-unsqueeze-negative-input-rank"
    ops = ("Unsqueeze",)

    def buggy(self, case):
        result = case.inputs["data"]
        rank = result.ndim
        for axis in sorted(a + rank + 1 if a < 0 else a for a in _axes_of(case)):
            if axis < 0:
                raise ValueError(f"axis {axis - rank - 1} is out of range for an input of rank {rank}")
            result = np.expand_dims(result, axis)
        return [result]


class UnsqueezeInGivenOrder(_Planted):
    """numpy.expand_dims applied once per axis, in the order the axes are listed."""

    name = "planted-unsqueeze-in-given-order"
    ops = ("Unsqueeze",)

    def buggy(self, case):
        result = case.inputs["data"]
        for axis in _axes_of(case):
            result = np.expand_dims(result, axis)
        return [result]


class SplitLikeArraySplit(_Planted):
    """num_outputs chunks as numpy.array_split makes them (the first ones one larger)."""

    name = "planted-split-like-array-split"
    ops = ("Split",)

    def buggy(self, case):
        if "num_outputs" not in case.attributes:
            return _specified(case)
        x = case.inputs["input"]
        return [part.copy() for part in np.array_split(x, case.attributes["num_outputs"], axis=case.attributes.get("axis", 0))]


class TransposePermInverted(_Planted):
    """perm read as where each input axis goes."""

    name = "planted-transpose-perm-inverted"
    ops = ("Transpose",)

    def buggy(self, case):
        x = case.inputs["data"]
        perm = case.attributes.get("perm", list(range(x.ndim))[::-1])
        return [np.transpose(x, np.argsort(perm))]


def _slice_with(case: Case, bounds) -> list[np.ndarray]:
    """Slice computed axis by axis, with ``bounds(dim, start, end, step) -> (first, stop)``."""
    x = case.inputs["data"]
    starts, ends = (list(np.asarray(case.inputs[k]).reshape(-1)) for k in ("starts", "ends"))
    axes = case.inputs.get("axes")
    axes = list(range(len(starts))) if axes is None else [int(a) % x.ndim for a in axes]
    steps = case.inputs.get("steps")
    steps = [1] * len(starts) if steps is None else [int(s) for s in steps]
    for axis, start, end, step in zip(axes, starts, ends, steps):
        first, stop = bounds(x.shape[axis], int(start), int(end), step)
        x = np.take(x, np.arange(first, stop, step), axis=axis)
    return [x]


class SliceEndsClampedLikePositive(_Planted):
    """Ends clamped to [0, dim] whatever the step's sign: a backward slice never reaches element 0."""

    name = "planted-slice-ends-clamped-like-positive"
    ops = ("Slice",)

    def buggy(self, case):
        def bounds(dim, start, end, step):
            start, end = (v + dim if v < 0 else v for v in (start, end))
            if step > 0:
                return min(max(start, 0), dim), min(max(end, 0), dim)
            return min(max(start, 0), dim - 1), min(max(end, 0), dim)

        return _slice_with(case, bounds)


class SliceLikePython(_Planted):
    """Python's own slices: ``data[start:end:step]`` on each axis (NumPy's clamping)."""

    name = "planted-slice-like-python"
    ops = ("Slice",)

    def buggy(self, case):
        return _slice_with(case, lambda dim, start, end, step: slice(start, end, step).indices(dim)[:2])


class SliceIntMaxEndUnbounded(_Planted):
    """An end of INT_MAX means 'to the end' in either direction (reversing with INT_MAX)."""

    name = "planted-slice-int-max-end-unbounded"
    ops = ("Slice",)

    def buggy(self, case):
        steps = case.inputs.get("steps")
        if steps is None:
            return _specified(case)
        ends = np.array(case.inputs["ends"])
        for i, step in enumerate(steps):
            if step < 0 and int(ends[i]) in INT_MAX_VALUES:
                ends[i] = np.iinfo(ends.dtype).min
        inputs = dict(case.inputs, ends=ends)
        return _specified(case, inputs=list(inputs.values()))


class PadReflectAsSymmetric(_Planted):
    """Reflect padding that repeats the edge value (numpy.pad's 'symmetric')."""

    name = "planted-pad-reflect-as-symmetric"
    ops = ("Pad",)

    def buggy(self, case):
        if case.attributes.get("mode") != "reflect":
            return _specified(case)
        x = case.inputs["data"]
        axes = case.inputs.get("axes")
        widths = pad_widths(x.ndim, [int(p) for p in case.inputs["pads"]], None if axes is None else [int(a) for a in axes])
        return [np.pad(x, widths, mode="symmetric")]


class PadsInterleaved(_Planted):
    """Pads read as (begin, end) pairs per axis, TensorFlow's layout flattened."""

    name = "planted-pads-interleaved"
    ops = ("Pad",)

    def buggy(self, case):
        pads = np.asarray(case.inputs["pads"])
        half = len(pads) // 2
        onnx_order = np.concatenate([pads[0::2], pads[1::2]]) if half else pads
        inputs = dict(case.inputs, pads=onnx_order.astype(pads.dtype))
        try:
            return _specified(case, inputs=list(inputs.values()))
        except ValueError as error:  # the reordered pads remove more than an axis holds, say
            raise RuntimeError(f"pads out of range: {error}") from None


class TileRepeatsElements(_Planted):
    """numpy.repeat on each axis (torch.repeat_interleave) instead of numpy.tile."""

    name = "planted-tile-repeats-elements"
    ops = ("Tile",)

    def buggy(self, case):
        x = case.inputs["input"]
        for axis, count in enumerate(case.inputs["repeats"]):
            x = np.repeat(x, int(count), axis=axis)
        return [x]


class ConstantOfShapeValueIgnored(_Planted):
    """Zeros of float32 whatever the value attribute says (its default taken for the value)."""

    name = "planted-constant-of-shape-value-ignored"
    ops = ("ConstantOfShape",)

    def buggy(self, case):
        return [np.zeros([int(d) for d in case.inputs["input"]], np.float32)]


class BlockModeSwapped(_Planted):
    """DepthToSpace/SpaceToDepth computing CRD for DCR and DCR for CRD."""

    name = "planted-block-mode-swapped"
    ops = ("DepthToSpace", "SpaceToDepth")

    def buggy(self, case):
        if case.op_type == "SpaceToDepth" and case.opset < 28:
            return _specified(case)  # no mode before opset 28
        mode = case.attributes.get("mode", "DCR")
        return _specified(case, attributes={**case.attributes, "mode": {"DCR": "CRD", "CRD": "DCR"}[mode]})


class BlockTransposed(_Planted):
    """A block's depth index read column-major: (column * blocksize + row)."""

    name = "planted-block-transposed"
    ops = ("DepthToSpace", "SpaceToDepth")

    def buggy(self, case):
        x = case.inputs["input"]
        bs = case.attributes["blocksize"]
        n, c, h, w = x.shape
        crd = case.attributes.get("mode", "DCR") == "CRD"
        if case.op_type == "DepthToSpace":
            depth = c // (bs * bs)
            if crd:
                y = x.reshape(n, depth, bs, bs, h, w).transpose(0, 1, 4, 3, 5, 2)  # (n, d, h, col, w, row)
            else:
                y = x.reshape(n, bs, bs, depth, h, w).transpose(0, 3, 4, 2, 5, 1)
            return [y.reshape(n, depth, h * bs, w * bs)]
        blocks = x.reshape(n, c, h // bs, bs, w // bs, bs)  # (n, c, h, row, w, col)
        order = (0, 1, 5, 3, 2, 4) if crd else (0, 5, 3, 1, 2, 4)  # column outside row
        return [blocks.transpose(order).reshape(n, c * bs * bs, h // bs, w // bs)]


# -- benign backends ------------------------------------------------------------------------------


class RoundedOnce(_Planted):
    """Benign: the float64 reference rounded once to the output dtype, for every operator."""

    name = "benign-rounded-once"


class _InPrecision:
    """Benign reductions computed in the input's dtype (float32 arithmetic for float32 data)."""

    name = "benign"
    version = "benign"

    def supports(self, op_type: str) -> bool:
        return op_type in REDUCTIONS

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        x = case.inputs["data"]
        if case.op_type not in REDUCTIONS:
            raise Unsupported(f"{self.name} computes reductions only")
        if x.dtype.kind != "f":
            return _specified(case)  # integers are exact in any order
        axes = reduced_axes(x.shape, _axes_of(case), case.attributes.get("noop_with_empty_axes", 0))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = self.reduce(case.op_type, x, axes)
        if not keeps_dims(case.attributes.get("keepdims")):
            result = result.reshape([d for i, d in enumerate(result.shape) if i not in axes])
        return [np.asarray(result).astype(x.dtype)]

    def reduce(self, op_type: str, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError


class NumpyInPrecision(_InPrecision):
    """Benign: the obvious NumPy implementation in the input dtype (pairwise sums, stable LogSumExp)."""

    name = "benign-numpy-in-precision"

    def reduce(self, op_type, x, axes):
        dtype = x.dtype
        total = lambda v: np.sum(v, axis=axes, keepdims=True, dtype=dtype)  # noqa: E731
        if op_type == "ReduceSum":
            return total(x)
        if op_type == "ReduceMean":
            return total(x) / dtype.type(reduced_count(x.shape, axes))
        if op_type in ("ReduceMax", "ReduceMin"):
            function = np.max if op_type == "ReduceMax" else np.min
            return function(x, axis=axes, keepdims=True, initial=-np.inf if op_type == "ReduceMax" else np.inf)
        if op_type == "ReduceProd":
            return np.prod(x, axis=axes, keepdims=True, dtype=dtype)
        if op_type == "ReduceL1":
            return total(np.abs(x))
        if op_type == "ReduceL2":
            return np.sqrt(total(x * x))
        if op_type == "ReduceSumSquare":
            return total(x * x)
        largest = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        shift = np.where(np.isfinite(largest), largest, dtype.type(0))
        return np.log(total(np.exp(x - shift))) + shift


class LeftToRight(_InPrecision):
    """Benign: every reduction accumulated one value at a time, left to right, in the input dtype;
    the mean multiplies by a rounded 1/n, the L2 norm scales by the largest magnitude first."""

    name = "benign-left-to-right"

    def reduce(self, op_type, x, axes):
        kept = [i for i in range(x.ndim) if i not in axes]
        count = reduced_count(x.shape, axes)
        # The kept axes first, the values reduced together along one last axis.
        values = np.transpose(x, kept + list(axes)).reshape([x.shape[i] for i in kept] + [count])
        result = self._reduce(op_type, values, count)
        return result.reshape([1 if i in axes else d for i, d in enumerate(x.shape)])

    @staticmethod
    def _accumulate(values: np.ndarray, start: float, step) -> np.ndarray:
        result = np.full(values.shape[:-1], start, dtype=values.dtype)
        for k in range(values.shape[-1]):
            result = step(result, values[..., k]).astype(values.dtype)
        return result

    def _reduce(self, op_type: str, values: np.ndarray, count: int) -> np.ndarray:
        dtype = values.dtype
        add = np.add
        if op_type == "ReduceSum":
            return self._accumulate(values, 0, add)
        if op_type == "ReduceMean":
            reciprocal = dtype.type(1.0 / count)  # rounded once, then one multiplication
            return self._accumulate(values, 0, add) * reciprocal
        if op_type == "ReduceMax":
            return self._accumulate(values, -np.inf, np.maximum)
        if op_type == "ReduceMin":
            return self._accumulate(values, np.inf, np.minimum)
        if op_type == "ReduceProd":
            return self._accumulate(values, 1, np.multiply)
        if op_type == "ReduceL1":
            return self._accumulate(np.abs(values), 0, add)
        if op_type == "ReduceSumSquare":
            return self._accumulate(values, 0, lambda a, b: a + b * b)
        if op_type == "ReduceL2":
            scale = np.max(np.abs(values), axis=-1, initial=0)
            safe = np.where(scale > 0, scale, dtype.type(1)).astype(dtype)
            scaled = values / safe[..., None]
            return np.sqrt(self._accumulate(scaled, 0, lambda a, b: a + b * b)) * safe
        largest = np.max(values, axis=-1, initial=-np.inf)
        shift = np.where(np.isfinite(largest), largest, dtype.type(0)).astype(dtype)
        return np.log(self._accumulate(np.exp(values - shift[..., None]), 0, add)) + shift
