"""Conv and ConvTranspose lowered to TensorFlow.

- auto_pad SAME_UPPER becomes TensorFlow's ``"SAME"`` (the odd pixel at the end, as in TF).
  TensorFlow has no SAME_LOWER: its pads (the odd pixel at the beginning) are computed here
  (``geometry``) and applied as explicit pads.
- Explicit pads use TensorFlow's explicit padding for 2-D convolutions and ``tf.pad`` otherwise.
- Convolutions use ``tf.nn.conv1d`` / ``conv2d`` / ``conv3d``. group > 1 uses ``depthwise_conv2d``
  where it applies, TensorFlow's native grouped Conv2D otherwise in 2-D, and one convolution per
  group in 1-D and 3-D.
- ConvTranspose computes the full (VALID) transposed convolution and crops it to ONNX's pads
  (SAME_LOWER included), except SAME_UPPER without output_padding, which uses TensorFlow's own
  ``"SAME"``. The crop is derived from the spec's equations in ``geometry``, not taken from the
  reference, so that a mistake in either shows as a disagreement.
"""

from __future__ import annotations

from conformance.backends.tensorflow.geometry import conv_transpose_crop, dilated_kernel, forward_pads
from conformance.backends.tensorflow.layout import channels_first, channels_last, permuted
from conformance.errors import Unsupported


def _spatial_rank(X) -> int:
    rank = len(X.shape) - 2
    if rank not in (1, 2, 3):
        raise Unsupported(f"TensorFlow convolutions have 1 to 3 spatial axes, not {rank}")
    return rank


def _add_bias(tf, y, B):
    return y if B is None else tf.nn.bias_add(y, B)


def conv(tf, X, W, B=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
         pads=None, strides=None):
    rank = _spatial_rank(X)
    strides = list(strides or [1] * rank)
    dilations = list(dilations or [1] * rank)
    depthwise = _is_depthwise(X, W, group, strides, dilations)
    x = channels_last(tf, X)
    padding = {"SAME_UPPER": "SAME", "VALID": "VALID"}.get(auto_pad)
    if padding is None:  # explicit pads, or SAME_LOWER's (TensorFlow has no SAME_LOWER)
        begins, ends = forward_pads(X.shape[2:], W.shape[2:], strides, dilations, auto_pad, pads)
        if rank == 2 and not depthwise:
            padding = [[0, 0], *zip(begins, ends), [0, 0]]
        else:
            x = tf.pad(x, [[0, 0], *zip(begins, ends), [0, 0]])
            padding = "VALID"
    C, M = X.shape[1], W.shape[0]
    if depthwise:
        # Output channel m reads input channel m // multiplier: TF's kernel is (kh, kw, C, multiplier).
        kernel = tf.reshape(permuted(tf, W, [2, 3, 0, 1]), [*W.shape[2:], C, M // C])
        y = tf.nn.depthwise_conv2d(x, kernel, strides=[1, *strides, 1], padding=padding, dilations=dilations)
    else:
        # ONNX kernels are (M, C/group, *k); TensorFlow's are (*k, C/group, M).
        w = permuted(tf, W, [*range(2, rank + 2), 1, 0])
        if group == 1 or rank == 2:  # Conv2D groups natively when C is a multiple of the kernel's depth
            y = _convolve(tf, x, w, strides, padding, dilations)
        else:
            y = tf.concat([_convolve(tf, xi, wi, strides, padding, dilations)
                           for xi, wi in zip(tf.split(x, group, axis=-1), tf.split(w, group, axis=-1))], axis=-1)
    return channels_first(tf, _add_bias(tf, y, B))


def _convolve(tf, x, w, strides, padding, dilations):
    rank = len(x.shape) - 2
    if rank == 1:
        return tf.nn.conv1d(x, w, stride=strides, padding=padding, dilations=dilations)
    if rank == 2:
        return tf.nn.conv2d(x, w, strides=strides, padding=padding, dilations=dilations)
    return tf.nn.conv3d(x, w, strides=[1, *strides, 1], padding=padding, dilations=[1, *dilations, 1])


def _is_depthwise(X, W, group, strides, dilations) -> bool:
    """TensorFlow's depthwise kernel applies: 2-D, one input channel per group, equal strides, and
    no stride together with dilation (both documented limits of ``tf.nn.depthwise_conv2d``)."""
    return (
        len(X.shape) == 4 and group > 1 and group == X.shape[1] and W.shape[1] == 1
        and strides[0] == strides[1] and (max(strides) == 1 or max(dilations) == 1)
    )


def conv_transpose(tf, X, W, B=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
                   output_padding=None, output_shape=None, pads=None, strides=None):
    rank = _spatial_rank(X)
    strides = list(strides or [1] * rank)
    dilations = list(dilations or [1] * rank)
    output_padding = list(output_padding or [0] * rank)
    N, input_shape, kernel = X.shape[0], list(X.shape[2:]), list(W.shape[2:])
    x = channels_last(tf, X)
    # ONNX kernels are (C, M/group, *k); tf.nn.conv_transpose wants (*k, M/group, C/group).
    w = permuted(tf, W, [*range(2, rank + 2), 1, 0])
    full = [s * (i - 1) + dilated_kernel(k, d) for i, k, s, d in zip(input_shape, kernel, strides, dilations)]
    native_same = auto_pad == "SAME_UPPER" and output_shape is None and not any(output_padding)
    target = [i * s for i, s in zip(input_shape, strides)] if native_same else full

    def transpose(xi, wi):
        return tf.nn.conv_transpose(xi, wi, output_shape=[N, *target, wi.shape[-2]], strides=strides,
                                    padding="SAME" if native_same else "VALID", dilations=dilations)

    if group == 1:
        y = transpose(x, w)
    else:
        y = tf.concat([transpose(xi, wi) for xi, wi in
                       zip(tf.split(x, group, axis=-1), tf.split(w, group, axis=-1))], axis=-1)
    if not native_same:
        y = _crop(tf, y, input_shape, kernel, strides, dilations, output_padding, auto_pad, pads, output_shape)
    return channels_first(tf, _add_bias(tf, y, B))


def _crop(tf, y, input_shape, kernel, strides, dilations, output_padding, auto_pad, pads, output_shape):
    """ONNX's output window on the full transposed result (zeros beyond it: output_padding, negative pads)."""
    begins, shape = conv_transpose_crop(input_shape, kernel, strides, dilations, output_padding,
                                        auto_pad, pads, output_shape)
    full = y.shape[1:-1]
    extend = [(max(0, -b), max(0, b + o - f)) for b, o, f in zip(begins, shape, full)]
    if any(before or after for before, after in extend):
        y = tf.pad(y, [[0, 0], *extend, [0, 0]])
    return y[(slice(None), *(slice(b + e[0], b + e[0] + o) for b, o, e in zip(begins, shape, extend)), slice(None))]


LOWERINGS = {"Conv": conv, "ConvTranspose": conv_transpose}
