"""The float64 NumPy reference: one function per ONNX operator, written from the specification.

Each function takes ONNX's inputs positionally (``None`` for an omitted optional input) and
ONNX's attributes as keyword arguments with ONNX's names, computes in float64, and returns the
output (or a tuple of outputs). Functions decorated with ``with_variants`` also accept
``variants=`` naming the other conventions found in the wild (see ``reference.variants``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from reference.conv import conv, conv_transpose
from reference.variants import Variant

OPERATORS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "Conv": conv,
        "ConvTranspose": conv_transpose,
    }
)


def variants_of(op_type: str) -> Mapping[str, Variant]:
    """The named variants the reference implements for ``op_type`` (possibly none)."""
    return getattr(OPERATORS[op_type], "variants", {})


def evaluate(
    op_type: str,
    inputs: Sequence[np.ndarray | None],
    attributes: Mapping[str, Any],
    variants: Iterable[str] = (),
) -> tuple[np.ndarray, ...]:
    """Run one ONNX node on the reference; always returns a tuple of float64 (or exact) outputs."""
    try:
        function = OPERATORS[op_type]
    except KeyError:
        raise KeyError(f"the reference has no operator {op_type!r}") from None
    extra = {"variants": tuple(variants)} if variants else {}
    result = function(*inputs, **attributes, **extra)
    return result if isinstance(result, tuple) else (result,)
