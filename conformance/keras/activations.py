"""Keras's built-in activations as ONNX nodes, as the Keras that wrote the file defines them.

Where Keras changed an activation between versions, the entry says which version means what
(Keras.jl mapped ``softmax`` and ``linear`` to ``relu`` by mistake: every entry has its own test):

- ``hard_sigmoid``: ``clip(0.2 x + 0.5, 0, 1)`` up to Keras 2; ``relu6(x + 3) / 6``, that is
  ``clip(x / 6 + 0.5, 0, 1)``, in Keras 3.
- ``leaky_relu`` (the function, Keras 3): slope 0.2; the ``LeakyReLU`` layer's default differs
  (``conformance.keras.layers``).
- ``gelu``: exact (erf) by default in Keras 2.4+ and 3 (``approximate=False``).
- ``softmax``: over the last axis; ``linear``: the identity.
"""

from __future__ import annotations

from typing import Callable

from conformance.errors import ConformanceError
from conformance.keras.builder import GraphBuilder

Activation = Callable[[GraphBuilder, str, str, int], str]  # (graph, x, node name, Keras major) -> output


def _single(op_type: str, **attributes) -> Activation:
    return lambda g, x, name, major: g.one(op_type, [x], name, **attributes)


def _hard_sigmoid(g: GraphBuilder, x: str, name: str, major: int) -> str:
    alpha = 0.2 if major < 3 else 1.0 / 6.0
    return g.one("HardSigmoid", [x], name, alpha=alpha, beta=0.5)


def _times_sigmoid(g: GraphBuilder, x: str, name: str, major: int) -> str:
    return g.one("Mul", [x, g.one("Sigmoid", [x], f"{name}/sigmoid")], name)


def _mish(g: GraphBuilder, x: str, name: str, major: int) -> str:
    return g.one("Mul", [x, g.one("Tanh", [g.one("Softplus", [x], f"{name}/softplus")], f"{name}/tanh")], name)


def _relu6(g: GraphBuilder, x: str, name: str, major: int) -> str:
    import numpy as np

    low, high = (g.constant(f"{name}/{k}", np.asarray(v, np.float32)) for k, v in (("min", 0.0), ("max", 6.0)))
    return g.one("Clip", [x, low, high], name)


BUILT_IN_MODULES = ("keras.activations", "keras.src.activations.activations", "keras.src.activations")

ACTIVATIONS: dict[str, Activation] = {
    "linear": _single("Identity"),
    "relu": _single("Relu"),
    "relu6": _relu6,
    "sigmoid": _single("Sigmoid"),
    "hard_sigmoid": _hard_sigmoid,
    "tanh": _single("Tanh"),
    "softmax": _single("Softmax", axis=-1),
    "log_softmax": _single("LogSoftmax", axis=-1),
    "elu": _single("Elu", alpha=1.0),
    "selu": _single("Selu"),
    "softplus": _single("Softplus"),
    "softsign": _single("Softsign"),
    "exponential": _single("Exp"),
    "swish": _times_sigmoid,
    "silu": _times_sigmoid,
    "gelu": _single("Gelu"),
    "mish": _mish,
    "leaky_relu": _single("LeakyRelu", alpha=0.2),
    "hard_silu": _single("HardSwish"),
    "hard_swish": _single("HardSwish"),
}


def activation(g: GraphBuilder, x: str, spec, name: str, major: int, fused: bool = True) -> str:
    """``x`` through the activation a layer's config names: a built-in's name, or its serialized
    form (``{"module": "keras.activations", "config": "relu"}``); a custom function is refused,
    never run. A layer's ``fused`` linear activation adds no node; the ``Activation`` layer's
    adds an Identity, so that the layer keeps a node of its own."""
    key = spec
    if isinstance(spec, dict):
        if spec.get("module") not in BUILT_IN_MODULES or not isinstance(spec.get("config"), str):
            raise ConformanceError(f"layer {name.split('/')[0]!r}: its activation is a custom function"
                                   f" ({spec.get('module')}.{spec.get('config')}), and stored code is never run")
        key = spec["config"]
    key = key or "linear"
    if key == "linear" and fused:
        return x
    try:
        return ACTIVATIONS[key](g, x, name, major)
    except KeyError:
        raise ConformanceError(f"layer {name.split('/')[0]!r}: activation {key!r} is not one this importer"
                               " knows") from None
