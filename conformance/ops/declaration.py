"""An operator declaration: everything the generic machinery needs to certify one operator.

In the spirit of PyTorch's OpInfo, each operator is declared once: the cases to draw (a
Hypothesis strategy that only draws valid calls and favours the corners where conventions
differ), the tolerance model, the features that describe a case (used by the known-divergences
manifest, the coverage self-tests and the reports), and the corners the strategy must reach.
The reference and its variants come from ``reference``; nothing here repeats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np
from hypothesis import strategies as st

import reference
from conformance.case import Case
from conformance.tolerance import Tolerance
from reference.variants import Variant


@dataclass(frozen=True)
class OpDeclaration:
    op_type: str
    summary: str
    cases: Callable[..., st.SearchStrategy[Case]]  # cases(pins=None): see conformance.strategies.Draws
    tolerance: Tolerance
    features: Callable[[Case], Mapping[str, Any]]
    corners: tuple[str, ...] = ()  # "feature" (true) or "feature=value" the strategy must reach

    @property
    def variants(self) -> Mapping[str, Variant]:
        return reference.variants_of(self.op_type)

    def expected(self, case: Case, variants: Iterable[str] = ()) -> tuple[np.ndarray, ...]:
        """The reference outputs for ``case``, under the spec or under the named variants.

        Only the outputs the case's node asks for: an operator with optional outputs (MaxPool's
        Indices) computes them all, and a node that omits one expects fewer.
        """
        outputs = reference.evaluate(case.op_type, list(case.inputs.values()), case.attributes, variants, case.opset)
        return outputs[:len(case.outputs)]

    def bounds(self, case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
        return self.tolerance.bounds(case, variants)


def corner_reached(corner: str, features: Mapping[str, Any]) -> bool:
    """Whether a case with ``features`` lies in ``corner`` ("name" is true, "name=value" equal)."""
    name, sep, value = corner.partition("=")
    if not sep:
        return bool(features.get(name))
    return str(features.get(name)) == value
