"""The float64 NumPy reference: one function per ONNX operator, written from the specification.

Each function takes ONNX's inputs positionally (``None`` for an omitted optional input) and
ONNX's attributes as keyword arguments with ONNX's names, computes in float64, and returns the
output (or a tuple of outputs). Functions decorated with ``with_variants`` also accept
``variants=`` naming the other conventions found in the wild (see ``reference.variants``); a
function whose semantics changed across opsets takes ``opset=``, and one whose result depends on
how many outputs the node declares (Split without ``split``) takes ``output_count=``.

Each family module (``reference/conv.py``, ...) lists its functions in an ``OPERATORS`` table;
``reference.OPERATORS`` gathers them all.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from conformance.registry import FamilyRegistry
from reference.variants import Reading, Variant

OPERATORS: Mapping[str, Callable[..., Any]] = FamilyRegistry("reference", "OPERATORS")


def variants_of(op_type: str) -> Mapping[str, Variant]:
    """The named variants the reference implements for ``op_type`` (possibly none)."""
    return getattr(OPERATORS[op_type], "variants", {})


def readings_of(op_type: str) -> Mapping[str, Reading]:
    """The readings of its specification the reference implements for ``op_type``: the default
    one and the alternatives (none where the text decides)."""
    return getattr(OPERATORS[op_type], "readings", {})


@cache
def _takes(function: Callable[..., Any], parameter: str) -> bool:
    return parameter in inspect.signature(function).parameters


def evaluate(
    op_type: str,
    inputs: Sequence[np.ndarray | None],
    attributes: Mapping[str, Any],
    variants: Iterable[str] = (),
    opset: int | None = None,
    output_count: int | None = None,
) -> tuple[np.ndarray, ...]:
    """Run one ONNX node on the reference; always returns a tuple of float64 (or exact) outputs.

    ``opset`` reaches the functions whose semantics depend on it (they declare ``opset``), and
    ``output_count`` (how many outputs the node declares) those that declare ``output_count``
    (Split without ``split``; BatchNormalization before opset 14, which trains when it lists its
    optional outputs). With ``output_count``, only that many outputs are returned: a function may
    compute optional trailing outputs (MaxPool's Indices, Dropout's mask) whether asked or not.
    """
    try:
        function = OPERATORS[op_type]
    except KeyError:
        raise KeyError(f"the reference has no operator {op_type!r}") from None
    extra: dict[str, Any] = {"variants": tuple(variants)} if variants else {}
    if opset is not None and _takes(function, "opset"):
        extra["opset"] = opset
    if output_count is not None and _takes(function, "output_count"):
        extra["output_count"] = output_count
    result = function(*inputs, **attributes, **extra)
    result = result if isinstance(result, tuple) else (result,)
    return result if output_count is None else result[:output_count]
