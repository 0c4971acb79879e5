"""Planted-bug and benign backends for the pooling family (see tests/planted.py for the idea).

Each planted bug is written as a backend would commit it, by mangling the call or its result
(padding with zeros before pooling, reading count_include_pad the wrong way round, taking the
index within the plane), never through the reference's variants, so that the diagnosis is tested
against an independent implementation. The benign backend pools in the input's own precision.

    conformance certify AveragePool --backend tests.planted_pooling:CountIncludePadInverted
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import onnx

import reference
from conformance.case import Case
from tests.planted import _Rewriting


class CountIncludePadInverted(_Rewriting):
    """AveragePool that counts the padding in the divisor when told not to, and the other way round."""

    name = "planted-count-include-pad-inverted"

    def rewrite(self, inputs, attributes):
        return inputs, {**attributes, "count_include_pad": 1 - int(attributes.get("count_include_pad", 0))}


class CeilModeIgnored(_Rewriting):
    """Pooling that always rounds the output shape down."""

    name = "planted-ceil-mode-ignored"

    def rewrite(self, inputs, attributes):
        return inputs, {k: v for k, v in attributes.items() if k != "ceil_mode"}


class CeilModeIgnoredNoBatches(CeilModeIgnored):
    """ceil_mode ignored, and an exception on any batch of more than one image: its first failure
    is often an error, which the diagnosis must see past to the disagreements on single images."""

    name = "planted-ceil-mode-ignored-no-batches"

    def run(self, model, inputs):
        if next(iter(inputs.values())).shape[0] > 1:
            raise RuntimeError("batches of more than one image are not implemented")
        return super().run(model, inputs)


def _same_pads(size: int, k: int, s: int, d: int, upper: bool) -> tuple[int, int]:
    total = max(0, (-(-size // s) - 1) * s + (k - 1) * d + 1 - size)
    return (total // 2, total - total // 2) if upper else (total - total // 2, total // 2)


def _explicit_pads(X: np.ndarray, attributes: dict[str, Any]) -> tuple[list[int], list[int]]:
    """The pads a backend would compute itself from pads or auto_pad (SAME odd pixel at the end for UPPER)."""
    rank = X.ndim - 2
    auto_pad = attributes.get("auto_pad", "NOTSET")
    kernel = attributes["kernel_shape"]
    strides = attributes.get("strides", [1] * rank)
    dilations = attributes.get("dilations", [1] * rank)
    if auto_pad.startswith("SAME"):
        halves = [_same_pads(n, k, s, d, auto_pad == "SAME_UPPER")
                  for n, k, s, d in zip(X.shape[2:], kernel, strides, dilations)]
        return [b for b, _ in halves], [e for _, e in halves]
    pads = list(attributes.get("pads", [0] * 2 * rank)) if auto_pad == "NOTSET" else [0] * 2 * rank
    return pads[:rank], pads[rank:]


class PadValueZero(_Rewriting):
    """Max pooling that pads the input with zeros (np.pad), then pools the padded tensor.

    The output shape is the spec's; the windows read the zero-padded buffer, ceil-mode windows
    included (their overhang beyond the buffer is ignored).
    """

    name = "planted-pad-value-zero"

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        X, attributes = case.inputs["X"], dict(case.attributes)
        spec = reference.evaluate(case.op_type, [X], attributes)[:len(case.outputs)]
        begins, ends = _explicit_pads(X, attributes)
        padded = np.pad(X, [(0, 0), (0, 0)] + list(zip(begins, ends)))
        rank = X.ndim - 2
        rest = {k: v for k, v in attributes.items() if k not in ("pads", "auto_pad", "ceil_mode")}
        # Enough windows for the spec's output shape: a ceil-mode overhang reads past the buffer.
        reach = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(
            spec[0].shape[2:], attributes.get("strides", [1] * rank), attributes["kernel_shape"],
            attributes.get("dilations", [1] * rank))]
        overhang = [max(0, r - n) for r, n in zip(reach, padded.shape[2:])]
        Y = reference.evaluate(case.op_type, [padded], {**rest, "pads": [0] * rank + overhang})[0]
        Y = Y[(Ellipsis, *(slice(0, o) for o in spec[0].shape[2:]))]
        # The Indices are not what this bug is about: the spec's.
        return [Y.astype(case.dtype), *spec[1:]]


class CeilWindowInPaddingKept(_Rewriting):
    """MaxPool whose ceil mode keeps a last window that starts in the end padding.

    It sizes the output as ``ceil((in + pads - eff_kernel) / stride) + 1`` and pads the end far
    enough (with padding, which max pooling ignores) for that many windows.
    """

    name = "planted-ceil-window-in-padding-kept"

    def rewrite(self, inputs, attributes):
        X = inputs[0]
        if not attributes.get("ceil_mode") or attributes.get("auto_pad", "NOTSET") != "NOTSET":
            return inputs, attributes
        rank = X.ndim - 2
        kernel = attributes["kernel_shape"]
        strides = attributes.get("strides", [1] * rank)
        dilations = attributes.get("dilations", [1] * rank)
        begins, ends = _explicit_pads(X, attributes)
        new_ends = []
        for n, k, s, d, b, e in zip(X.shape[2:], kernel, strides, dilations, begins, ends):
            extent = (k - 1) * d + 1
            count = -(-(n + b + e - extent) // s) + 1
            new_ends.append(max(e, (count - 1) * s + extent - n - b))
        return inputs, {**attributes, "ceil_mode": 0, "pads": [*begins, *new_ends]}

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        arguments, attributes = self.rewrite(list(case.inputs.values()), dict(case.attributes))
        outputs = reference.evaluate(case.op_type, arguments, attributes)[:len(case.outputs)]
        Y = outputs[0]
        if case.dtype.kind in "iu":  # a window of padding only holds the integer dtype's lowest value
            Y = np.maximum(Y, np.iinfo(case.dtype).min)
        return [Y.astype(case.dtype), *outputs[1:]]


class IndicesPerPlane(_Rewriting):
    """MaxPool whose Indices count within each (n, c) plane, as PyTorch's return_indices does."""

    name = "planted-indices-per-plane"

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        outputs = super().run(model, inputs)
        if len(outputs) > 1:
            X = next(iter(inputs.values()))
            outputs[1] = outputs[1] % int(np.prod(X.shape[2:]))
        return outputs


class StorageOrderIgnored(_Rewriting):
    """MaxPool whose Indices are always row-major."""

    name = "planted-storage-order-ignored"

    def rewrite(self, inputs, attributes):
        return inputs, {k: v for k, v in attributes.items() if k != "storage_order"}


class InPrecisionPooling:
    """Benign: pooling in the input's own precision, taps accumulated last first, over zero or -inf padding.

    The geometry is ONNX's (reference.pooling.pool_geometry); the arithmetic is float32 for
    float32 cases (float16 for float16), with another summation order than the reference's.
    """

    name = "benign-in-precision-pooling"
    version = "benign"

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        from reference.pooling import pool_geometry, tap_counts
        from reference.windows import sliding_windows

        case = Case.from_model(model, inputs)
        X, a = case.inputs["X"], dict(case.attributes)
        axes = tuple(range(2, X.ndim))
        if case.op_type == "GlobalAveragePool":
            return [np.mean(X, axis=axes, keepdims=True, dtype=X.dtype)]
        if case.op_type == "GlobalMaxPool":
            return [np.max(X, axis=axes, keepdims=True)]
        kernel, strides, dilations, begins, ends, output = pool_geometry(
            X.shape[2:], a["kernel_shape"], a.get("strides"), a.get("dilations"), a.get("auto_pad", "NOTSET"),
            a.get("pads"), a.get("ceil_mode", 0))
        reach = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(output, strides, kernel, dilations)]
        extra = [max(0, r - (n + b + e)) for r, n, b, e in zip(reach, X.shape[2:], begins, ends)]
        if case.op_type == "MaxPool":
            if len(case.outputs) > 1:  # the Indices are not what this benign backend is about
                return [o.astype(X.dtype) if i == 0 else o for i, o in
                        enumerate(reference.evaluate("MaxPool", [X], a)[:len(case.outputs)])]
            low = np.iinfo(X.dtype).min if X.dtype.kind in "iu" else -np.inf
            padded = np.pad(X, [(0, 0), (0, 0)] + [(b, e + h) for b, e, h in zip(begins, ends, extra)],
                            constant_values=low)
            windows = sliding_windows(padded, kernel, strides, dilations)
            windows = windows[(Ellipsis, *(slice(0, o) for o in output), *(slice(None),) * len(kernel))]
            return [windows.max(axis=tuple(range(-len(kernel), 0)))]
        values = np.abs(X) ** X.dtype.type(a.get("p", 2)) if case.op_type == "LpPool" else X
        padded = np.pad(values, [(0, 0), (0, 0)] + [(b, e + h) for b, e, h in zip(begins, ends, extra)])
        windows = sliding_windows(padded, kernel, strides, dilations)
        windows = windows[(Ellipsis, *(slice(0, o) for o in output), *(slice(None),) * len(kernel))]
        total = np.zeros(windows.shape[:2 + len(kernel)], dtype=X.dtype)
        for tap in reversed(list(itertools.product(*(range(k) for k in kernel)))):
            total += windows[(Ellipsis, *tap)]
        if case.op_type == "LpPool":
            return [(total ** (X.dtype.type(1) / X.dtype.type(a.get("p", 2)))).astype(X.dtype)]
        counts = tap_counts(X.shape[2:], kernel, strides, dilations, begins, ends, output,
                            bool(a.get("count_include_pad", 0)))
        return [(total / counts.astype(X.dtype)).astype(X.dtype)]


class SameNegativePaddingCropped(_Rewriting):
    """Pooling that keeps a negative SAME total padding (a stride larger than the kernel) and crops the
    input by it, split as ``split`` says: ``"c"`` truncates towards zero as C does (onnxruntime,
    TensorFlow's Eigen kernels), ``"floor"`` floors as Python does (onnx.reference), ``"begin"``
    crops it all from the beginning (a split neither reading of the spec allows).

    Written from the operator text without the reference's readings: the cropped input is pooled
    with the non-negative part of the padding given explicitly.
    """

    name = "planted-same-negative-padding-cropped"
    split = "c"

    def rewrite(self, inputs, attributes):
        X, *rest = inputs
        auto_pad = attributes.get("auto_pad", "NOTSET")
        if not auto_pad.startswith("SAME"):
            return inputs, attributes
        rank = X.ndim - 2
        kernel = attributes["kernel_shape"]
        strides = attributes.get("strides", [1] * rank)
        dilations = attributes.get("dilations", [1] * rank)
        begins, ends = [], []
        for n, k, s, d in zip(X.shape[2:], kernel, strides, dilations):
            total = (-(-n // s) - 1) * s + (k - 1) * d + 1 - n  # pad_shape, unclamped
            if self.split == "begin":
                begin = min(total, total // 2 if auto_pad == "SAME_UPPER" else total - total // 2)
            elif self.split == "floor":
                begin = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            else:
                begin = int(total / 2) if auto_pad == "SAME_UPPER" else int((total + 1) / 2)
            begins.append(begin)
            ends.append(total - begin)
        crop = tuple(slice(max(0, -b), n - max(0, -e)) for n, b, e in zip(X.shape[2:], begins, ends))
        pads = [max(0, b) for b in begins] + [max(0, e) for e in ends]
        # The cropped span is a whole number of strides: ceil_mode changes nothing, and is dropped.
        rest_attributes = {k: v for k, v in attributes.items() if k not in ("auto_pad", "ceil_mode")}
        return [np.ascontiguousarray(X[(Ellipsis, *crop)]), *rest], {**rest_attributes, "pads": pads}


class SameNegativePaddingFloorSplit(SameNegativePaddingCropped):
    name = "planted-same-negative-padding-floor-split"
    split = "floor"


class SameNegativePaddingAtBeginning(SameNegativePaddingCropped):
    name = "planted-same-negative-padding-at-beginning"
    split = "begin"
