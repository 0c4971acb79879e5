"""Backends for the harness's self-tests: planted bugs that must be caught, and benign ones that must pass.

They are ordinary plug-ins, so they also work from the command line, from the repository root:

    conformance certify Conv --backend tests.planted:FlippedKernel

Planted bugs are written as a backend would commit them, by mangling the call before computing it
(flipping the kernel it was given, reading pads in the wrong order, ...), not through the
reference's own variants, so that the diagnosis is tested against an independent implementation.
Benign backends compute correctly in the input precision with other algorithms and summation
orders (im2col + BLAS, taps in reverse order, Winograd F(2,3)), or in float64 rounded once.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import numpy as np
import onnx

import reference
from conformance.case import Case
from reference.conv import conv_transpose_pads, crop_transposed
from reference.windows import sliding_windows, window_pads


class _Rewriting:
    """Computes the float64 reference on a rewritten call and rounds once, like a real backend would."""

    version = "planted"
    name = "planted"

    def rewrite(self, inputs: list, attributes: dict[str, Any]) -> tuple[list, dict[str, Any]]:
        return inputs, attributes

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        arguments, attributes = self.rewrite(list(case.inputs.values()), dict(case.attributes))
        # The model's opset (Softmax before and after 13); only the outputs the node asks for
        # (MaxPool's Indices are optional); floats rounded to the dtype.
        outputs = reference.evaluate(case.op_type, arguments, attributes, opset=case.opset,
                                     output_count=len(case.outputs))
        return [o.astype(case.dtype) if o.dtype.kind == "f" else o for o in outputs]


def _spatial_flip(W: np.ndarray) -> np.ndarray:
    return W[(slice(None), slice(None)) + (slice(None, None, -1),) * (W.ndim - 2)]


class FlippedKernel(_Rewriting):
    """True convolution, as Theano and Flux compute it: the kernel is flipped."""

    name = "planted-flipped-kernel"

    def rewrite(self, inputs, attributes):
        X, W, *rest = inputs
        return [X, _spatial_flip(W), *rest], attributes


class SameUpperLowerSwapped(_Rewriting):
    name = "planted-same-swapped"

    def rewrite(self, inputs, attributes):
        swap = {"SAME_UPPER": "SAME_LOWER", "SAME_LOWER": "SAME_UPPER"}
        auto_pad = attributes.get("auto_pad", "NOTSET")
        return inputs, {**attributes, "auto_pad": swap.get(auto_pad, auto_pad)}


class PadsBeginEndSwapped(_Rewriting):
    name = "planted-pads-swapped"

    def rewrite(self, inputs, attributes):
        pads = attributes.get("pads")
        if pads is None:
            return inputs, attributes
        half = len(pads) // 2
        return inputs, {**attributes, "pads": list(pads[half:]) + list(pads[:half])}


class DilationsIgnored(_Rewriting):
    name = "planted-dilations-ignored"

    def rewrite(self, inputs, attributes):
        return inputs, {k: v for k, v in attributes.items() if k != "dilations"}


class BiasDropped(_Rewriting):
    name = "planted-bias-dropped"

    def rewrite(self, inputs, attributes):
        return [*inputs[:2], None], attributes


class Float16Operands(_Rewriting):
    """Silently computes from operands rounded to float16, accumulating exactly."""

    name = "planted-float16-operands"

    def rewrite(self, inputs, attributes):
        return [None if x is None else x.astype(np.float16).astype(x.dtype) for x in inputs], attributes


class RoundedOnce(_Rewriting):
    """Benign: float64 computation rounded once to the output dtype."""

    name = "benign-rounded-once"


# -- benign backends that compute in the input precision -----------------------------------------


class _InPrecision:
    """Conv in the input dtype (float32 arithmetic for float32 cases), by some algorithm."""

    version = "benign"
    name = "benign"

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        case = Case.from_model(model, inputs)
        X, W, B = (list(case.inputs.values()) + [None])[:3]
        if case.op_type == "Conv":
            Y = self.conv(X, W, case.attributes)
        elif case.op_type == "ConvTranspose":
            Y = self.conv_transpose(X, W, case.attributes)
        else:
            raise NotImplementedError(case.op_type)
        if B is not None:
            Y = Y + B.reshape((1, -1) + (1,) * (Y.ndim - 2))
        return [Y.astype(X.dtype)]

    def conv_transpose(self, X, W, attributes):
        """Scatter each kernel tap's contribution, taps in reverse order, in the input dtype."""
        rank = X.ndim - 2
        group = attributes.get("group", 1)
        strides = attributes.get("strides", [1] * rank)
        dilations = attributes.get("dilations", [1] * rank)
        output_padding = attributes.get("output_padding", [0] * rank)
        kernel = W.shape[2:]
        begins, _, shape = conv_transpose_pads(X.shape[2:], kernel, strides, dilations, output_padding,
                                               attributes.get("auto_pad", "NOTSET"), attributes.get("pads"),
                                               attributes.get("output_shape"))
        N, C = X.shape[:2]
        m = W.shape[1]
        Xg = X.reshape(N, group, C // group, *X.shape[2:])
        Wg = W.reshape(group, C // group, m, *kernel)
        full = [s * (i - 1) + (k - 1) * d + 1 for i, k, s, d in zip(X.shape[2:], kernel, strides, dilations)]
        out = np.zeros((N, group, m, *full), dtype=X.dtype)
        for tap in reversed(list(itertools.product(*(range(k) for k in kernel)))):
            contribution = np.einsum("ngc...,gcm->ngm...", Xg, Wg[(Ellipsis, *tap)])
            target = tuple(slice(t * d, t * d + (i - 1) * s + 1, s)
                           for t, d, i, s in zip(tap, dilations, X.shape[2:], strides))
            out[(Ellipsis, *target)] += contribution
        return crop_transposed(out, begins, shape).reshape(N, group * m, *shape)


def _conv_geometry(X, W, attributes):
    rank = X.ndim - 2
    kernel = list(W.shape[2:])
    strides = list(attributes.get("strides", [1] * rank))
    dilations = list(attributes.get("dilations", [1] * rank))
    begins, ends = window_pads(X.shape[2:], kernel, strides, dilations, attributes.get("auto_pad", "NOTSET"),
                               attributes.get("pads"))
    padded = np.pad(X, [(0, 0), (0, 0)] + list(zip(begins, ends)))
    return kernel, strides, dilations, padded, attributes.get("group", 1)


class Im2colGemm(_InPrecision):
    """Benign: im2col, then one BLAS GEMM per group in the input dtype (blocked, FMA summation)."""

    name = "benign-im2col-gemm"

    def conv(self, X, W, attributes):
        kernel, strides, dilations, padded, group = _conv_geometry(X, W, attributes)
        N, C, M = X.shape[0], X.shape[1], W.shape[0]
        windows = sliding_windows(padded, kernel, strides, dilations)
        out = windows.shape[2:2 + len(kernel)]
        columns = np.moveaxis(windows.reshape(N, group, C // group, *out, *kernel), 2, 2 + len(kernel))
        columns = columns.reshape(N, group, int(np.prod(out)), -1)
        weights = W.reshape(group, M // group, -1).transpose(0, 2, 1)
        Y = np.matmul(columns, weights)
        return Y.transpose(0, 1, 3, 2).reshape(N, M, *out)


class ReversedTaps(_InPrecision):
    """Benign: accumulates one kernel tap at a time, last tap first, in the input dtype."""

    name = "benign-reversed-taps"

    def conv(self, X, W, attributes):
        kernel, strides, dilations, padded, group = _conv_geometry(X, W, attributes)
        N, C, M = X.shape[0], X.shape[1], W.shape[0]
        windows = sliding_windows(padded, kernel, strides, dilations)
        out = windows.shape[2:2 + len(kernel)]
        windows = windows.reshape(N, group, C // group, *out, *kernel)
        weights = W.reshape(group, M // group, C // group, *kernel)
        Y = np.zeros((N, group, M // group, *out), dtype=X.dtype)
        for tap in reversed(list(itertools.product(*(range(k) for k in kernel)))):
            Y += np.einsum("ngc...,gmc->ngm...", windows[(Ellipsis, *tap)], weights[(Ellipsis, *tap)])
        return Y.reshape(N, M, *out)


class Winograd(_InPrecision):
    """Benign: Winograd F(2,3) along the innermost axis wherever it applies, im2col elsewhere.

    Applies when the innermost kernel extent is 3 with stride 1 and dilation 1: each pair of
    outputs is computed from a 4-element input tile through the transforms of Lavin & Gray
    (2016), with the channel and outer-tap reduction done in the transformed domain, all in the
    input dtype. Its rounding errors are not those of any summation order of the direct sum.
    """

    name = "benign-winograd"

    def conv(self, X, W, attributes):
        kernel, strides, dilations, padded, group = _conv_geometry(X, W, attributes)
        if kernel[-1] != 3 or strides[-1] != 1 or dilations[-1] != 1:
            return Im2colGemm().conv(X, W, attributes)
        N, C, M = X.shape[0], X.shape[1], W.shape[0]
        rank, dtype = len(kernel), X.dtype
        length = padded.shape[-1]
        out_last = length - 2
        tiles = -(-out_last // 2)
        padded = np.pad(padded, [(0, 0)] * (padded.ndim - 1) + [(0, 2 * tiles + 2 - length)])
        # Windows over the outer axes only; the innermost axis is kept whole, then cut into tiles.
        outer = sliding_windows(padded, kernel[:-1] + [1], strides[:-1] + [1], dilations[:-1] + [1])
        outer = outer[..., 0]  # (N, C, *out_outer, L, *k_outer)
        outer = np.moveaxis(outer, 2 + rank - 1, -1)  # (N, C, *out_outer, *k_outer, L)
        step = outer.strides[-1]
        d = np.lib.stride_tricks.as_strided(outer, outer.shape[:-1] + (tiles, 4), outer.strides[:-1] + (2 * step, step))
        V = np.stack([d[..., 0] - d[..., 2], d[..., 1] + d[..., 2], d[..., 2] - d[..., 1], d[..., 1] - d[..., 3]], -1)
        g = W.astype(dtype)
        half = dtype.type(0.5)
        U = np.stack([g[..., 0], (g[..., 0] + g[..., 1] + g[..., 2]) * half,
                      (g[..., 0] - g[..., 1] + g[..., 2]) * half, g[..., 2]], -1)
        outer_out = outer.shape[2:2 + rank - 1]
        V = V.reshape(N, group, C // group, *outer_out, *kernel[:-1], tiles, 4)
        U = U.reshape(group, M // group, C // group, *kernel[:-1], 4)
        letters = "abcdef"[: rank - 1]
        taps = "pqrstu"[: rank - 1]
        products = np.einsum(f"ngc{letters}{taps}xk,gmc{taps}k->ngm{letters}xk", V, U)
        y0 = products[..., 0] + products[..., 1] + products[..., 2]
        y1 = products[..., 1] - products[..., 2] - products[..., 3]
        Y = np.stack([y0, y1], -1).reshape(*y0.shape[:-1], 2 * tiles)[..., :out_last]
        return Y.reshape(N, M, *outer_out, out_last)




# -- a planted regression of a real backend, for the CI baseline test ----------------------------


class _OnnxRuntimeImpostor:
    """onnxruntime with one planted change: its name, version and execution facts, so that its
    known divergences apply to it and a report lines up with the baseline's onnxruntime column."""

    def __init__(self):
        from conformance.backends.onnxruntime import OnnxRuntimeBackend

        self._runtime = OnnxRuntimeBackend()
        self.name, self.version = self._runtime.name, self._runtime.version
        self.execution_facts = self._runtime.execution_facts

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self._runtime.run(model, inputs)


class OnnxRuntimeFlippingConv(_OnnxRuntimeImpostor):
    """onnxruntime as if an upgrade had switched Conv to true convolution (the kernel flipped), for
    the CI baseline test: a real upgrade's report would line up the same way."""

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        if model.graph.node[0].op_type == "Conv":
            weights = model.graph.node[0].input[1]
            inputs = {**inputs, weights: np.ascontiguousarray(_spatial_flip(inputs[weights]))}
        return self._runtime.run(model, inputs)


class OnnxRuntimeSigmoidFloor(_OnnxRuntimeImpostor):
    """A second, larger bug inside onnxruntime's known Sigmoid divergence (inputs of -2 or below,
    where its absolute accuracy is excused): 0.3 for every input below -2."""

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        outputs = self._runtime.run(model, inputs)
        if model.graph.node[0].op_type != "Sigmoid":
            return outputs
        (X,) = inputs.values()
        return [np.where(X < -2, np.asarray(0.3, outputs[0].dtype), outputs[0])]


class OnnxRuntimeLrnBiasIgnored(_OnnxRuntimeImpostor):
    """onnxruntime's LRN, running sum and all, that also ignores ``bias`` (computes with 1)."""

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        node = model.graph.node[0]
        if node.op_type == "LRN" and any(a.name == "bias" for a in node.attribute):
            model = copy.deepcopy(model)
            kept = [a for a in model.graph.node[0].attribute if a.name != "bias"]
            del model.graph.node[0].attribute[:]
            model.graph.node[0].attribute.extend(kept)
        return self._runtime.run(model, inputs)
