"""ONNX attribute values as the TensorFlow lowerings read them, written from the ONNX IR and schemas.

An ONNX float attribute is a 32-bit float (``AttributeProto.f``), and so is the default a schema
declares: LeakyRelu's default alpha 0.01 is ``float32(0.01) = 0.009999999776482582``. A lowering
writes the schema's default as its keyword default and reads every float attribute through
``float32_attribute``, so an absent attribute and one written into the model read alike.
"""

from __future__ import annotations

import numpy as np


def float32_attribute(value: float) -> float:
    """A float attribute as a model stores it: rounded to a 32-bit float, returned as a Python float."""
    return float(np.float32(value))
