"""Convolutions: Conv1D/2D/3D, DepthwiseConv1D/2D, SeparableConv1D/2D, as ONNX Conv in channels first,
and Conv1D/2D/3DTranspose as ConvTranspose.

Keras stores a kernel as (*kernel_size, in_channels / groups, filters); ONNX wants
(filters, in_channels / groups, *kernel_size). Keras 1 and 2 files written by the Theano backend
hold true-convolution kernels (Theano flips them; Keras 2 flipped them again on loading into
TensorFlow, ``conv_utils.convert_kernel``): their spatial axes are flipped back here, since ONNX's
Conv is a cross-correlation, as TensorFlow's is.
"""

from __future__ import annotations

import numpy as np

from conformance.errors import ConformanceError
from conformance.keras.activations import activation
from conformance.keras.builder import GraphBuilder
from conformance.keras.graph import Call
from conformance.keras.layers.layout import channels_last, same_pads, to_channels_first, to_channels_last, tuple_of


# The layers whose kernels Keras 2 flipped when it loaded a Theano file into TensorFlow
# (``preprocess_weights_for_loading``: Conv1D, Conv2D, Conv3D; Keras 1 names included).
THEANO_FLIPPED = ("Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D")


def onnx_kernel(kernel: np.ndarray, call: Call) -> np.ndarray:
    """A Keras kernel (*spatial, in, out) as ONNX's (out, in, *spatial), its spatial axes flipped
    back where Theano wrote a convolution's kernel."""
    spatial = kernel.ndim - 2
    if call.backend == "theano" and call.keras_major <= 2 and call.class_name in THEANO_FLIPPED:
        kernel = kernel[(slice(None, None, -1),) * spatial]
    return np.ascontiguousarray(kernel.transpose(spatial + 1, spatial, *range(spatial)))


def _pads(call: Call, g: GraphBuilder, x: str, kernel, strides, dilations) -> list[int]:
    """ONNX pads for ``x`` (channels first) under the layer's ``padding``."""
    padding = call.get("padding", "valid")
    rank = g.rank(x)
    if padding == "valid":
        return [0] * (2 * (rank - 2))
    if padding == "same":
        return same_pads(g.shape(x)[2:], kernel, strides, dilations, call.name)
    if padding == "causal" and rank == 3:
        return [(kernel[0] - 1) * dilations[0], 0]
    raise ConformanceError(f"layer {call.name!r}: padding {padding!r} is not valid, same (or causal in 1-D)")


def _convolution(call: Call, x: str, g: GraphBuilder, W: np.ndarray, bias: np.ndarray | None, group: int,
                 name: str = "conv") -> str:
    """The layer's strided, dilated, padded convolution of ``x``, in channels first."""
    spatial = W.ndim - 2
    kernel = list(W.shape[2:])
    strides = tuple_of(call, "strides", spatial, 1)
    dilations = tuple_of(call, "dilation_rate", spatial, 1)
    inputs = [x, g.constant(f"{call.name}/{name}_W", W)] + ([g.constant(f"{call.name}/B", bias)] if bias is not None else [])
    return g.one("Conv", inputs, f"{call.name}/{name}", kernel_shape=kernel, strides=strides, dilations=dilations,
                 pads=_pads(call, g, x, kernel, strides, dilations), group=group)


def _depthwise_kernel(kernel: np.ndarray, call: Call) -> np.ndarray:
    """A depthwise kernel (*spatial, channels, multiplier) as ONNX's grouped (channels * multiplier,
    1, *spatial): output channel c * multiplier + m reads channel c."""
    spatial = kernel.ndim - 2
    channels, multiplier = kernel.shape[-2:]
    return onnx_kernel(kernel.reshape(*kernel.shape[:spatial], 1, channels * multiplier), call)


def _wrapped(call: Call, x: str, g: GraphBuilder, body) -> list[str]:
    """``body`` on ``x`` in channels first (moved there and back where the layer is channels last),
    then the layer's activation."""
    last = channels_last(call)
    y = body(to_channels_first(g, x, call.name) if last else x)
    y = to_channels_last(g, y, call.name) if last else y
    return [activation(g, y, call.get("activation"), f"{call.name}/activation", call.keras_major)]


def conv(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    names = ("kernel", "bias") if call.get("use_bias", True) else ("kernel",)
    weights = call.weights(*names)
    W = onnx_kernel(weights["kernel"], call)
    groups = int(call.get("groups", 1) or 1)
    return _wrapped(call, inputs[0], g, lambda x: _convolution(call, x, g, W, weights.get("bias"), groups))


def depthwise_conv(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    """Keras 2 names the kernel ``depthwise_kernel``, Keras 3 ``kernel``."""
    names = ("kernel|depthwise_kernel", "bias") if call.get("use_bias", True) else ("kernel|depthwise_kernel",)
    weights = call.weights(*names)
    W, channels = _depthwise_kernel(weights["kernel"], call), weights["kernel"].shape[-2]
    return _wrapped(call, inputs[0], g, lambda x: _convolution(call, x, g, W, weights.get("bias"), channels))


def separable_conv(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    """A depthwise convolution (strided, dilated, padded), then a 1x1 one with the bias."""
    names = ("depthwise_kernel", "pointwise_kernel") + (("bias",) if call.get("use_bias", True) else ())
    weights = call.weights(*names)
    depthwise = _depthwise_kernel(weights["depthwise_kernel"], call)
    channels = weights["depthwise_kernel"].shape[-2]
    pointwise = [g.constant(f"{call.name}/pointwise_W", onnx_kernel(weights["pointwise_kernel"], call))]
    if "bias" in weights:
        pointwise.append(g.constant(f"{call.name}/B", weights["bias"]))

    def body(x: str) -> str:
        y = _convolution(call, x, g, depthwise, None, channels, name="depthwise")
        return g.one("Conv", [y, *pointwise], f"{call.name}/pointwise", kernel_shape=[1] * (depthwise.ndim - 2))

    return _wrapped(call, inputs[0], g, body)


def conv_transpose(call: Call, inputs: list[str], g: GraphBuilder) -> list[str]:
    """Conv1D/2D/3DTranspose as ConvTranspose. Keras stores the kernel as (*spatial, filters,
    in_channels); ONNX wants (in_channels, filters, *spatial). The output length is Keras's
    (``deconv_output_length``); TensorFlow, like a convolution run backwards from that length, crops
    the full transposed output by the forward SAME padding (the extra element at the end) and pads
    it with zeros at the end where the length exceeds it: ONNX's pads and output_padding."""
    (x,) = inputs
    names = ("kernel", "bias") if call.get("use_bias", True) else ("kernel",)
    weights = call.weights(*names)
    kernel = weights["kernel"]
    spatial = kernel.ndim - 2
    W = np.ascontiguousarray(kernel.transpose(spatial + 1, spatial, *range(spatial)))
    strides = tuple_of(call, "strides", spatial, 1)
    dilations = tuple_of(call, "dilation_rate", spatial, 1)
    padding = call.get("padding", "valid")
    if padding not in ("valid", "same"):
        raise ConformanceError(f"layer {call.name!r}: padding {padding!r} is neither valid nor same")
    extra = call.get("output_padding")
    extra = None if extra is None else tuple_of(call, "output_padding", spatial)
    sizes = g.shape(x)[1:-1] if channels_last(call) else g.shape(x)[2:]
    begins, ends, output_padding = [], [], []
    for i, (size, k, s, d) in enumerate(zip(sizes, W.shape[2:], strides, dilations)):
        if size is None:
            raise ConformanceError(f"layer {call.name!r}: a transposed convolution of unknown spatial size")
        effective = (k - 1) * d + 1
        full = (size - 1) * s + effective
        if extra is None:
            length = size * s + (max(effective - s, 0) if padding == "valid" else 0)
        else:
            length = (size - 1) * s + effective - 2 * (effective // 2 if padding == "same" else 0) + extra[i]
        begin = max(full - length, 0) // 2 if padding == "same" else 0
        end = full - length - begin
        begins.append(begin)
        ends.append(max(end, 0))
        output_padding.append(max(-end, 0))
    bias = weights.get("bias")

    def body(y: str) -> str:
        operands = [y, g.constant(f"{call.name}/W", W)] + ([g.constant(f"{call.name}/B", bias)] if bias is not None else [])
        return g.one("ConvTranspose", operands, f"{call.name}/conv_transpose", kernel_shape=list(W.shape[2:]),
                     strides=strides, dilations=dilations, pads=begins + ends, output_padding=output_padding)

    return _wrapped(call, x, g, body)


LAYERS = {
    "Conv1DTranspose": conv_transpose, "Conv2DTranspose": conv_transpose, "Conv3DTranspose": conv_transpose,
    "Convolution2DTranspose": conv_transpose, "Deconvolution2D": conv_transpose,
    "Conv1D": conv, "Conv2D": conv, "Conv3D": conv,
    "Convolution1D": conv, "Convolution2D": conv, "Convolution3D": conv,
    "DepthwiseConv1D": depthwise_conv, "DepthwiseConv2D": depthwise_conv,
    "SeparableConv1D": separable_conv, "SeparableConv2D": separable_conv,
    "SeparableConvolution1D": separable_conv, "SeparableConvolution2D": separable_conv,
}
